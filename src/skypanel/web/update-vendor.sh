#!/bin/sh
# Re-vendor the panel's browser assets from the npm registry (run from anywhere; needs npm).
# Pinned versions; after changing one, update static/vendor/README.md.
set -eu
HTMX=2.0.11
UPLOT=1.6.32
LUCIDE=1.62.0
SWAGGER=5.35.0
ICONS="layout-dashboard layers credit-card wallet receipt activity users building-2 user
settings server shield log-out menu chevron-down plus check x triangle-alert circle-check
circle-alert info key-round palette search arrow-right history boxes package sparkles zap
refresh-cw eye container play square rotate-ccw trash-2 database folder
terminal eye-off rocket git-branch gauge layout-template hard-drive cpu memory-stick
globe arrow-left pencil file-code chart-column bell mail"

here=$(cd "$(dirname "$0")" && pwd)/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for spec in "htmx.org@$HTMX" "uplot@$UPLOT" "lucide-static@$LUCIDE" "swagger-ui-dist@$SWAGGER"; do
  name=${spec%@*}
  mkdir -p "$name"
  tar xzf "$(npm pack --silent "$spec")" -C "$name"
done

mkdir -p "$here/htmx" "$here/uplot" "$here/lucide" "$here/swagger-ui"
cp swagger-ui-dist/package/swagger-ui-bundle.js swagger-ui-dist/package/swagger-ui.css \
  swagger-ui-dist/package/favicon-32x32.png swagger-ui-dist/package/LICENSE \
  swagger-ui-dist/package/NOTICE swagger-ui-dist/package/swagger-ui-bundle.js.LICENSE.txt \
  "$here/swagger-ui/"
cp htmx.org/package/dist/htmx.min.js htmx.org/package/LICENSE "$here/htmx/"
cp uplot/package/dist/uPlot.iife.min.js uplot/package/dist/uPlot.min.css \
  uplot/package/LICENSE "$here/uplot/"
cp lucide-static/package/LICENSE "$here/lucide/"

# A sprite of only the icons the templates use: <svg><use href="...sprite.svg#name"/></svg>
sprite="$here/lucide/sprite.svg"
printf '<svg xmlns="http://www.w3.org/2000/svg"><!-- lucide-static v%s, ISC -->\n' "$LUCIDE" > "$sprite"
for icon in $ICONS; do
  body=$(sed -e '1,/^>/d' -e '/<\/svg>/d' "lucide-static/package/icons/$icon.svg")
  printf '<symbol id="%s" viewBox="0 0 24 24">%s</symbol>\n' "$icon" "$body" >> "$sprite"
done
echo '</svg>' >> "$sprite"
