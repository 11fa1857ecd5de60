# Written by `cargo xtask dockerfile`: masks workspace members' versions in Cargo.lock
# the way the skeleton's manifests are masked, so a version bump keeps the dependency
# stage cached. Usage: awk -v members="a b" -f mask-lock.awk Cargo.lock Cargo.lock
function unquote(s) { gsub(/"/, "", s); return s }
function flush() { if (block && (name in member) && !source) local[name " " version] = 1 }
BEGIN {
    n = split(members, list, " ")
    for (i = 1; i <= n; i++) member[list[i]] = 1
}
FNR == 1 { if (pass == 1) flush(); pass++; block = 0 }
/^\[/ {
    if (pass == 1) flush()
    block = ($0 == "[[package]]"); name = ""; version = ""; source = 0
}
block && /^name = / { name = unquote($3) }
block && /^source = / { source = 1 }
pass == 1 { if (block && /^version = /) version = unquote($3); next }
block && /^version = / {
    version = unquote($3)
    if ((name " " version) in local) { print "version = \"0.0.0\""; next }
}
/^ *"[^" ]+ [^" ]+",?$/ {
    dep = $0; gsub(/^ *"|",?$/, "", dep)
    if (dep in local) { line = $0; sub(/ [^ "]+"/, " 0.0.0\"", line); print line; next }
}
{ print }
