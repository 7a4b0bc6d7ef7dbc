#!/usr/bin/env bash
# Fuzz every parser `secrets` owns, one target after the other, each for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 120 s, every target)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). libFuzzer needs nightly compiler flags; with a
# stable toolchain RUSTC_BOOTSTRAP=1 lets it build. Targets are built in release with debug
# assertions (overflow checks on) and no sanitizer: the crate forbids unsafe code, so the
# sanitizer would mostly slow the runs. Corpora go in fuzz/corpus/TARGET (seeded from
# fixtures/), crashes in fuzz/artifacts/TARGET; the last line per target gives its executions.
# FUZZ_TARGET_DIR sets the build folder (default target/fuzz).
# Not part of CI: it is long by design. The property tests in `cargo test` cover the same
# properties on every run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-120}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(yaml json toml dotenv ini envelope metadata key_path sops_config scan_config)
fi
export RUSTC_BOOTSTRAP=1
target_dir="${FUZZ_TARGET_DIR:-target/fuzz}"
flags=(-O -a -s none --target-dir "$target_dir")
cargo fuzz build "${flags[@]}"

seed() {
    local t="$1" dir="fuzz/corpus/$1"
    mkdir -p "$dir"
    case "$t" in
        yaml | json | toml | dotenv | ini)
            local ext="$t"; [ "$t" = dotenv ] && ext=env
            find fixtures -name "*.$ext" -size -64k -exec cp -n {} "$dir/" \; 2>/dev/null || true ;;
        metadata)
            for f in fixtures/sops/*.sops.yaml; do cp -n "$f" "$dir/y-$(basename "$f")"; done ;;
        sops_config)
            printf 'creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    encrypted_regex: ^(password|token)$\n    key_groups:\n      - age: [age1zddhkcycwqdueyhxu07c56q8f4evamd9uxjej0v7justsat37ywsf2hws0]\n  - age: age1zddhkcycwqdueyhxu07c56q8f4evamd9uxjej0v7justsat37ywsf2hws0\n' > "$dir/c1" ;;
        scan_config)
            [ -f .secrets-scan.toml ] && cp -n .secrets-scan.toml "$dir/" ;;
        key_path)
            printf '["db"]["password"]' > "$dir/p1"; printf "['a'][0][\"b\\\\\"c\"]" > "$dir/p2" ;;
        envelope)
            grep -ho 'ENC\[[^]]*\]' fixtures/sops/basic.sops.yaml | head -5 |
                awk -v d="$dir" '{ f = d "/e" NR; printf "%s", $0 > f; close(f) }' ;;
    esac
}

for t in "${targets[@]}"; do
    seed "$t"
    echo "== $t (${secs}s)"
    log="fuzz/artifacts/$t.log"
    mkdir -p "fuzz/artifacts/$t"
    if cargo fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=4096 -max_len=65536 -timeout=20 \
        -print_final_stats=1 > "$log" 2>&1; then
        echo "   ok: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') executions"
    else
        echo "   FAILED (crash or timeout): see $log and fuzz/artifacts/$t/"
    fi
done
