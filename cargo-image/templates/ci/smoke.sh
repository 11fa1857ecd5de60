# `--help` is answered (0) or refused (1, 2), or the program serves until the timeout
# (124, 137); anything else, such as 126 or 255 for "exec format error", fails.
status=0
for platform in $platforms; do
  for bin in @@BINS@@; do
    image="$REGISTRY/$bin:sha-@@SHA@@"
    code=0
    timeout --kill-after=10 30 docker run --rm --name cargo-image-smoke --platform "$platform" "$image" --help || code=$?
    docker rm --force cargo-image-smoke >/dev/null 2>&1 || true
    case "$code" in
      0|1|2|124|137) echo "$image ($platform) starts (exit $code)" ;;
      *) echo "@@ERROR_PREFIX@@$image ($platform) does not start (exit $code)"; status=1 ;;
    esac
  done
done
test "$status" -eq 0
