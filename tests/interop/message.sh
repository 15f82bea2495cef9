# The message every interop test sends, and the byte-for-byte check of
# what a server delivered. Source after tests/lib.sh.
#
#   make_interop_message  writes $T/msg (what is sent) and $T/expected
#   delivered_as_sent F   F ends with exactly $T/expected, and what comes
#                         before it is only the server's trace headers

# The message has what usually goes wrong: leading dots, a lone dot, 8-bit
# text, a long line, and no newline at the end.
make_interop_message() {
    {
        printf 'From: Sender <sender@example.com>\nTo: rcpt@example.test\n'
        printf 'Subject: interop\nDate: Sun, 22 Nov 2026 10:00:00 +0000\n'
        printf 'Message-ID: <interop-%s@example.com>\nMIME-Version: 1.0\n' "$$"
        printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
        printf '.leading dot\n..two dots\n.\nafter a lone dot\ncaf\303\251\n'
        head -c 900 /dev/zero | tr '\0' x
        printf '\nlast line without newline'
    } >"$T/msg"
    # What a Maildir holds: the message with LF line ends, and a newline
    # added at the end (SMTP cannot carry a message that does not end in one).
    { cat "$T/msg"; echo; } >"$T/expected"
}

delivered_as_sent() {
    local size
    size=$(stat -c %s "$T/expected")
    if ! tail -c "$size" "$1" | cmp -s - "$T/expected"; then
        echo "#   the delivered message differs from what was sent:"
        diff <(tail -c "$size" "$1") "$T/expected" | head -10 | sed 's/^/#   /'
        return 1
    fi
    head -c "-$size" "$1" | grep -vE '^(Return-Path|Delivered-To|X-Original-To|Received):|^[[:space:]]' |
        sed 's/^/#   unexpected: /' | grep . && return 1
    return 0
}
