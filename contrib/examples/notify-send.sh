#!/bin/sh
# A notify_command for desktops: a notification when a queued message
# changes state. In ~/.config/outpost/config:
#   notify_command /usr/share/doc/outpost/examples/notify-send.sh
# (outpost runs it without a shell; the facts are in OUTPOST_* variables.)
case "$OUTPOST_STATE" in
failed) urgency=critical title="Mail could not be delivered" ;;
delayed) urgency=normal title="Mail is delayed" ;;
queued) urgency=low title="Mail queued for later" ;;
*) urgency=low title="Mail delivered" ;;
esac
exec notify-send --app-name=outpost --urgency="$urgency" "$title" \
    "To: $OUTPOST_RECIPIENTS
$OUTPOST_REASON"
