# Our own stages (dockerfile-append), built on the generated ones: the API's image with
# the catalog CLI beside it, to poke at a running service from inside its container.
#   cargo xtask image --target product-api-debug
FROM product-api AS product-api-debug
COPY --from=build /out/products/ /

# The exporter's image (distroless-cc) with the admin tool beside it: `ping` checks,
# from inside the exporter's network, that the API answers by its container name.
#   cargo xtask image --target catalog-exporter-debug
FROM catalog-exporter AS catalog-exporter-debug
COPY --from=build /out/products-admin/ /
