#!/bin/bash
# What contrib/ ships must work: the system-wide example configuration and
# aliases file, and the shell completion.
. "$srcdir/tests/lib.sh"

start_server contrib
# The system example, pointed at the scripted server instead of a real one.
sed -e "s/^host .*/host 127.0.0.1/" -e "s/^port .*/port $PORT/" -e "s/^tls on/tls off/" \
    -e "s/^auth on/auth off/" -e "/^tls_trust_file/d" -e "/^passwordeval/d" \
    -e "s#^aliases .*#aliases $srcdir/contrib/examples/aliases#" -e "s/^syslog .*/logfile $(echo "$T" | sed 's#/#\\/#g')\/log/" \
    "$srcdir/contrib/examples/outpost.conf" >"$T/system.conf"
chmod 644 "$T/system.conf"
OUTPOST_SYSTEM_CONFIG="$srcdir/contrib/examples/outpost.conf" run_outpost --pretend root
is "$RC" 0 "the system example loads as it is"
[ "$RC" -eq 0 ] || diag "$ERR"
check "the system example: host and syslog as written" \
    sh -c "grep -qx 'host = smtp.example.org' '$OUT' && grep -qx 'syslog = LOG_MAIL' '$OUT'"
USER=cron OUTPOST_SYSTEM_CONFIG="$T/system.conf" run_outpost -i root < <(printf 'Subject: cron\n\nout\n')
is "$RC" 0 "cron-style mail to root through the example files"
[ "$RC" -eq 0 ] || diag "$ERR"
is "$("$TEST_PYTHON" -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["mail_from"], *e["rcpts"])' "$DIR/msg-1.json")" \
    "cron@example.org alice@example.org bob@example.org" "root reaches the admins, from %U@example.org"

# bash completion
printf 'account home\nhost h\naccount work : home\naccount default : home\n' >"$HOME/.outpostrc"
chmod 600 "$HOME/.outpostrc"
complete_words() { # complete_words WORD...: what completing the last word offers
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _outpost; echo "${COMPREPLY[*]}"' \
        sh "$srcdir/contrib/completion/outpost.bash" "$@"
}
is "$(complete_words outpost --acc)" "--account=" "bash completion: long options"
is "$(complete_words outpost --chec)" "--check" "bash completion: --check"
is "$(complete_words outpost --configu)" "--configure=" "bash completion: --configure="
is "$(complete_words outpost -a "")" "default home work" "bash completion: account names from the config"
is "$(complete_words outpost -R "")" "full hdrs" "bash completion: -R values"
if command -v zsh >/dev/null; then
    zsh -n "$srcdir/contrib/completion/_outpost"
    is "$?" 0 "zsh completion: valid zsh"
else
    echo "ok $((TAP_N += 1)) # SKIP zsh is not installed"
fi

sh -n "$srcdir/contrib/networkmanager/90-outpost-flush"
is "$?" 0 "the NetworkManager dispatcher script is valid sh"
check "the systemd service runs outpost -q" grep -qx 'ExecStart=/usr/bin/outpost -q' "$srcdir/contrib/systemd/outpost-flush.service"

# The manual pages keep up: every configuration command (as --pretend lists
# them) has an entry in outpost.conf(5), every long option of --help one
# in outpost(1).
write_config "$T/doc.rc" "account default" "host localhost" "from a@b.example"
"$OUTPOST" -C "$T/doc.rc" --pretend x@y.example | sed -n 's/^\([a-z_0-9]*\) = .*/\1/p' |
    grep -vx recipients >"$T/commands" # (the envelope, not a command)
undocumented=$(while read -r c; do
    grep -qE "^\.(B|BI|BR|TQ) (.*[ \"])?$c( |\"|\$)" "$srcdir/doc/outpost.conf.5" || echo "$c"
done <"$T/commands")
check "every configuration command is in outpost.conf(5) ($(wc -l <"$T/commands") of them)" \
    test -z "$undocumented" -a "$(wc -l <"$T/commands")" -gt 40
[ -z "$undocumented" ] || echo "#   undocumented: $undocumented"
"$OUTPOST" --help | grep -oE '^  --[a-z-]+' | sed 's/^  --//' >"$T/options"
missing=$(while read -r o; do
    grep -qF -- "\-\-${o//-/\\-}" "$srcdir/doc/outpost.1" || echo "$o"
done <"$T/options")
check "every long option of --help is in outpost(1) ($(wc -l <"$T/options") of them)" \
    test -z "$missing" -a "$(wc -l <"$T/options")" -gt 10
[ -z "$missing" ] || echo "#   not in outpost(1): $missing"

# The benchmark is not run here (it needs root, Postfix and msmtp, and
# minutes); its parts are checked so that it does not rot.
bash -n "$srcdir/contrib/bench/bench.sh" && bash -n "$srcdir/contrib/bench/startup.sh"
is "$?" 0 "the benchmark scripts are valid bash"
"$TEST_PYTHON" -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$srcdir/contrib/bench/ceiling.py"
is "$?" 0 "the ceiling client is valid Python"
# The floor client through the delay proxy, to the scripted server: it
# sends the message whole, in the groups it claims, and the proxy delays.
printf 'Subject: floor\n\n.a dot\nbody\n' >"$T/floor.msg"
for offer in '"PIPELINING", "CHUNKING"' '"PIPELINING"'; do
    start_server "floor-$(echo "$offer" | tr -dc A-Z)" "{\"ehlo\": [$offer]}"
    "$TEST_PYTHON" "$srcdir/contrib/bench/delayproxy.py" "$T/proxy.port" "$PORT" 25 &
    SERVER_PIDS+=($!)
    for _ in $(seq 1 100); do [ -s "$T/proxy.port" ] && break; sleep 0.05; done
    "$TEST_PYTHON" "$srcdir/contrib/bench/floor.py" --mode plain --port "$(cat "$T/proxy.port")" \
        --runs 1 --message "$T/floor.msg" >"$T/floor.out" 2>"$ERR"
    rm -f "$T/proxy.port"
    settled
    check "floor.py ($offer): one time, of at least 100 ms (the greeting and two round trips, 25 ms each way)" \
        "$TEST_PYTHON" -c 'import sys; v = [float(l) for l in open(sys.argv[1])]; sys.exit(not (len(v) == 1 and v[0] >= 100))' "$T/floor.out"
    check "floor.py ($offer): the message arrived, dot-stuffing undone" \
        grep -q $'^\\.a dot\r$' "$DIR/msg-2.eml"
    check "floor.py ($offer): the round trips the RFCs leave (EHLO and the group; with DATA, the text too)" \
        test "$(grep -c "^-- client's turn" "$DIR/session-2.log")" -eq "$([ "$offer" = '"PIPELINING"' ] && echo 3 || echo 2)"
done

if ${CC:-cc} -O2 -o "$T/runstat" "$srcdir/contrib/bench/runstat.c" 2>"$ERR"; then
    printf 'hello\n' >"$T/runstat.in"
    "$T/runstat" "$T/runstat.in" "$T/runstat.out" sh -c 'cat >/dev/null; exit 3'
    check "runstat records wall time, peak RSS and the exit status" \
        grep -qE '^[0-9]+\.[0-9]{3} [0-9]+ 3$' "$T/runstat.out"
else
    ok 1 "runstat.c compiles"
    diag "$ERR"
fi

done_testing
