# bash completion for outpost (and sendmail / mailq when they are outpost).
# Install: copy to /usr/share/bash-completion/completions/outpost

_outpost_accounts()
{
    local f files=()
    for f in "${XDG_CONFIG_HOME:-$HOME/.config}/outpost/config" "$HOME/.outpostrc" \
        /etc/outpost.conf; do
        [ -r "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -eq 0 ] && return
    sed -n 's/^[[:space:]]*account[[:space:]]\{1,\}\([^[:space:]:]\{1,\}\).*/\1/p' "${files[@]}" |
        sort -u
}

_outpost()
{
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    local opts="--account= --file= --from= --host= --port= --tls= --tls-starttls= --auth=
        --user= --timeout= --logfile= --dsn-notify= --dsn-return= --read-recipients
        --read-envelope-from --pretend --serverinfo --check --all --json --configure= --write
        --quiet --store-password --forget-password
        --password-stdin --serve --debug --version --help -t -i -f -F -C -a -X -N -R -V
        -bs -bp -q -oi -P -S -v"
    case $prev in
    -a | --account)
        COMPREPLY=($(compgen -W "$(_outpost_accounts)" -- "$cur"))
        return
        ;;
    -C | --file | -X)
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    -N)
        COMPREPLY=($(compgen -W "never success failure delay" -- "$cur"))
        return
        ;;
    -R)
        COMPREPLY=($(compgen -W "full hdrs" -- "$cur"))
        return
        ;;
    esac
    case $cur in
    --account=*)
        COMPREPLY=($(compgen -W "$(_outpost_accounts)" -- "${cur#--account=}"))
        ;;
    -*)
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        [ ${#COMPREPLY[@]} -eq 1 ] && [[ ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
        ;;
    esac
}
complete -F _outpost outpost
