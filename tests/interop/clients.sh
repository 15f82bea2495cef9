#!/bin/bash
# Real programs that call sendmail, with outpost in its place: mutt in batch
# mode, git send-email, GNU Mailutils' mail, and a PHP mail()-style
# "sendmail -t -i" call. Each goes to the scripted server, and the test
# checks the argv the program passed, the envelope, headers and body.
# A program that is not installed is skipped (.ci/run installs them all).
. "$srcdir/tests/lib.sh"

start_server clients
write_config "$HOME/.outpostrc" "account default" "host 127.0.0.1" "port $PORT" "timeout 10" \
    "from me@example.com"

# The "sendmail" the programs are given: it records its argv, then is outpost.
WRAP="$T/sendmail"
cat >"$WRAP" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$T/argv"
exec "$OUTPOST" "\$@"
EOF
chmod +x "$WRAP"

stored() { ls "$DIR"/msg-*.eml 2>/dev/null | wc -l; }
last_eml() { echo "$DIR/msg-$(stored).eml"; }
envelope() { # the last message's MAIL FROM and RCPT TOs
    "$TEST_PYTHON" -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["mail_from"], *e["rcpts"])' \
        "$DIR/msg-$(stored).json"
}
header() { # header NAME: first such field of the last message, unfolded
    "$TEST_PYTHON" -c 'import email,sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
v = m.get(sys.argv[2])
print("" if v is None else " ".join(str(v).split()))' "$(last_eml)" "$1"
}
argv() { tr '\n' ' ' <"$T/argv" | sed 's/ $//'; }

printf 'Hello,\n\nthis is the body.\n.\nA line with a dot above.\n' >"$T/body"

# ---- mutt ------------------------------------------------------------------------
if command -v mutt >/dev/null; then
    printf 'attached text\n' >"$T/report.txt"
    cat >"$T/muttrc" <<EOF
set sendmail="$WRAP -oem -oi"
set from="Mutt User <me@example.com>"
set record=""
set charset="utf-8"
EOF
    before=$(stored)
    mutt -F "$T/muttrc" -s "mutt batch" -a "$T/report.txt" -- friend@example.org <"$T/body" \
        >"$T/mutt.out" 2>&1
    is "$?" 0 "mutt: exit 0"
    is "$(argv)" "-oem -oi -- friend@example.org" "mutt: passes -oem -oi -- RCPT (its default)"
    is "$(stored)" "$((before + 1))" "mutt: the message reached the server"
    is "$(envelope)" "me@example.com friend@example.org" "mutt: envelope"
    is "$(header Subject)" "mutt batch" "mutt: Subject"
    is "$(header From)" "Mutt User <me@example.com>" "mutt: mutt's own From is kept"
    check "mutt: a Date is present (mutt's)" test -n "$(header Date)"
    check "mutt: the attachment is in the MIME body" grep -q 'filename="report.txt"' "$(last_eml)"
    check "mutt: the line with a single dot survived (-oi)" grep -q '^A line with a dot above' "$(last_eml)"
else
    skip 9 "mutt is not installed"
fi

# ---- git send-email ---------------------------------------------------------------------
if git send-email --help >/dev/null 2>&1; then
    (
        cd "$T" && git init -q repo && cd repo &&
            git config user.name "Dev Eloper" && git config user.email dev@example.com &&
            echo one >file && git add file && git commit -qm "add file" &&
            echo two >>file && git commit -qam "file: second line"
    ) >/dev/null 2>&1
    before=$(stored)
    (cd "$T/repo" && git -c sendemail.sendmailcmd="$WRAP" send-email --confirm=never --quiet \
        --to=list@example.org -1) >"$T/git.out" 2>&1
    is "$?" 0 "git send-email: exit 0"
    [ "$(stored)" -gt "$before" ] || diag "$T/git.out"
    is "$(argv)" "-i list@example.org dev@example.com" "git send-email: passes -i RCPT... (Cc to self)"
    is "$(envelope)" "me@example.com list@example.org dev@example.com" "git send-email: envelope"
    is "$(header Subject)" "[PATCH] file: second line" "git send-email: Subject"
    is "$(header From)" "Dev Eloper <dev@example.com>" "git send-email: From"
    check "git send-email: the patch is in the body" grep -q '^+two' "$(last_eml)"
    check "git send-email: its Message-ID is kept (no second one)" \
        test "$(grep -ci '^message-id:' "$(last_eml)")" = 1
else
    skip 7 "git send-email is not installed"
fi

# ---- GNU Mailutils mail ----------------------------------------------------------------------
if command -v mail >/dev/null && mail --version 2>/dev/null | grep -q Mailutils; then
    before=$(stored)
    mail -E "set sendmail=sendmail://$WRAP" -r me@example.com -s "from mail" \
        buddy@example.org <"$T/body" >"$T/mail.out" 2>&1
    is "$?" 0 "mail: exit 0"
    is "$(argv)" "-oi -f me@example.com -t" "mail: passes -oi -f ADDR -t"
    is "$(stored)" "$((before + 1))" "mail: the message reached the server"
    is "$(envelope)" "me@example.com buddy@example.org" "mail: envelope (-t read the To header)"
    is "$(header Subject)" "from mail" "mail: Subject"
else
    skip 5 "GNU Mailutils mail is not installed"
fi

# ---- PHP's mail(): sendmail_path = "sendmail -t -i", headers in the message ------------------
cat >"$T/php.in" <<'EOF'
To: customer@example.org
Subject: Your order
From: Shop <shop@example.com>
Bcc: archive@example.com
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8

Thank you for your order.
.
EOF
before=$(stored)
"$WRAP" -t -i -fshop@example.com <"$T/php.in" >"$T/php.out" 2>&1
is "$?" 0 "PHP-style -t -i: exit 0"
is "$(envelope)" "shop@example.com customer@example.org archive@example.com" \
    "PHP-style: -f (attached) and the To and Bcc recipients"
check "PHP-style: Bcc is not in the delivered message" lacks -i '^bcc:' "$(last_eml)"
check "PHP-style: a Date and a Message-ID were added" \
    sh -c "grep -q '^Date: ' '$(last_eml)' && grep -q '^Message-ID: <.*@example.com>' '$(last_eml)'"

done_testing
