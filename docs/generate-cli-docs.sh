#!/usr/bin/env bash
# Regenerates the imgpack man page (docs/imgpack.1) and shell completions (docs/completions/)
# from the command definitions in Sources/imgpack. Run after changing any option or help text.
# Needs nothing beyond Swift: swift-argument-parser's GenerateManual plugin writes the page.
set -euo pipefail
cd "$(dirname "$0")/.."
date="${MANUAL_DATE:-$(date -u +%F)}"
swift build -c release --product imgpack
swift package --allow-writing-to-package-directory generate-manual --date "$date" --authors "ImagePack maintainers"
cp .build/plugins/GenerateManual/outputs/imgpack/imgpack.1 docs/imgpack.1
mkdir -p docs/completions
for shell in bash zsh fish; do
  .build/release/imgpack --generate-completion-script "$shell" > "docs/completions/imgpack.$shell"
done
echo "wrote docs/imgpack.1 and docs/completions/imgpack.{bash,zsh,fish}"
