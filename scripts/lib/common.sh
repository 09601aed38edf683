# shellcheck shell=bash disable=SC2034  # variables are read by the sourcing script
# Shared helpers for scripts/test: logging and phase bookkeeping.
# Sourced, not run.

# Colour only on a terminal.
if [[ -t 1 ]]; then
    _C_BOLD=$'\e[1m' _C_RED=$'\e[31m' _C_GREEN=$'\e[32m' _C_YELLOW=$'\e[33m' _C_OFF=$'\e[0m'
else
    _C_BOLD='' _C_RED='' _C_GREEN='' _C_YELLOW='' _C_OFF=''
fi

# log MESSAGE...: a progress line, visibly different from the tools' own output.
log() { printf '%s==> %s%s\n' "$_C_BOLD" "$*" "$_C_OFF"; }
warn() { printf '%s==> warning: %s%s\n' "$_C_YELLOW" "$*" "$_C_OFF" >&2; }
die() { printf '%s==> error: %s%s\n' "$_C_RED" "$*" "$_C_OFF" >&2; exit 1; }

# Phase results, printed by print_summary at the end.
PHASE_NAMES=()
PHASE_SECS=()
PHASE_RESULTS=()
PHASE_NOTES=()
FAILED=0

# record_phase NAME SECONDS ok|FAIL|skip [NOTE]
record_phase() {
    PHASE_NAMES+=("$1")
    PHASE_SECS+=("$2")
    PHASE_RESULTS+=("$3")
    PHASE_NOTES+=("${4:-}")
    if [[ $3 == FAIL ]]; then FAILED=1; fi
}

# fmt_secs N -> "1m05s" / "42s"
fmt_secs() {
    local s=$1
    if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

print_summary() {
    local i colour
    echo
    log "summary"
    for i in "${!PHASE_NAMES[@]}"; do
        case ${PHASE_RESULTS[$i]} in
            ok) colour=$_C_GREEN ;;
            FAIL) colour=$_C_RED ;;
            *) colour=$_C_YELLOW ;;
        esac
        printf '  %-28s %s%-4s%s %7s  %s\n' "${PHASE_NAMES[$i]}" "$colour" "${PHASE_RESULTS[$i]}" \
            "$_C_OFF" "$(fmt_secs "${PHASE_SECS[$i]}")" "${PHASE_NOTES[$i]}"
    done
}
