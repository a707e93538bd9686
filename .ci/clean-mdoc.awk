# Turns the man page swift-argument-parser's GenerateManual plugin writes into clean mdoc:
# `mandoc -T lint -W warning` reports nothing, and `man` prints no "Empty input line" warnings.
#   - a blank line (a paragraph break in --help text) becomes .Pp
#   - lines indented by two spaces (EXAMPLES, the EXIT STATUS table) become a literal display,
#     so they are neither filled nor wrapped
#   - a text line holding several sentences is split after each one (mdoc: new sentence, new line)
# Usage: awk -f .ci/clean-mdoc.awk imgpack.1 > imgpack.1.clean
function flush_blank() {
    if (blank && !literal) print ".Pp"
    blank = 0
}
function open_literal() { if (!literal) { flush_blank(); print ".Bd -literal -offset indent"; literal = 1 } }
function close_literal() { if (literal) { print ".Ed"; literal = 0; blank = 0 } }
# Splits `line` after every ". ", "? " or "! " that ends a sentence (not after e.g. or i.e.).
function split_sentences(line,    out, i, c, n, word) {
    out = ""
    n = length(line)
    i = 1
    while (i <= n) {
        c = substr(line, i, 1)
        out = out c
        if ((c == "." || c == "?" || c == "!") && substr(line, i + 1, 1) == " " && i + 1 < n) {
            word = out
            sub(/.* /, "", word)
            if (word != "e.g." && word != "i.e." && word != "etc." && word != "vs.") {
                while (substr(line, i + 1, 1) == " ") i++
                rest = substr(line, i + 1, 1)
                out = out "\n" ((rest == "." || rest == "'") ? "\\&" : "")
            }
        }
        i++
    }
    return out
}
{
    if ($0 == "") { if (literal) { held++ } else { blank = 1 } ; next }
    if (substr($0, 1, 2) == "  " && started) {
        open_literal()
        while (held > 0) { print ""; held-- }
        print substr($0, 3)
        next
    }
    held = 0
    close_literal()
    if (substr($0, 1, 1) == ".") {
        # Macros: a pending paragraph break before the next item or list end is redundant.
        if ($1 == ".Pp") { blank = 1; next }  # held: dropped before .It, .El and sections
        if ($1 == ".It" || $1 == ".El" || $1 == ".Sh" || $1 == ".Ss") blank = 0
        flush_blank()
        if ($1 == ".Sh") started = 1
        print
        next
    }
    flush_blank()
    print split_sentences($0)
}
END { close_literal() }
