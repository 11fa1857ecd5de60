# Our own stages (dockerfile-append), built on the generated ones: the API's image with
# the catalog CLI beside it, to poke at a running service from inside its container.
#   cargo xtask image --target product-api-debug
FROM product-api AS product-api-debug
COPY --from=build /out/products/ /
