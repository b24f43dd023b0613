#!/bin/bash
# open-web.sh: run as root on an Oracle Cloud Ubuntu instance (provision.sh
# pipes it over ssh).  Oracle's images ship /etc/iptables/rules.v4, loaded
# at boot by netfilter-persistent, whose INPUT chain ends in
# "-j REJECT --reject-with icmp-host-prohibited" after allowing only 22:
# the security list alone does not open 80/443.  This inserts ACCEPT rules
# for 80/tcp, 443/tcp and 443/udp before that REJECT, in the file and live,
# and touches nothing else (the InstanceServices rules must stay).
# Idempotent.  ufw is not used on these images (setup-server.sh --no-ufw).
set -euo pipefail
f=/etc/iptables/rules.v4
[ -f "$f" ] || { echo "open-web: no $f: not an Oracle image? nothing to do"; exit 0; }
reject='-A INPUT -j REJECT --reject-with icmp-host-prohibited'
grep -qxF -- "$reject" "$f" || { echo "open-web: $f has no INPUT REJECT line; unchanged"; exit 0; }
changed=0
for r in "-p tcp -m state --state NEW -m tcp --dport 80 -j ACCEPT" \
    "-p tcp -m state --state NEW -m tcp --dport 443 -j ACCEPT" \
    "-p udp -m udp --dport 443 -j ACCEPT"; do
	if grep -qxF -- "-A INPUT $r" "$f"; then
		echo "open-web: $f: '$r' present"
		continue
	fi
	sed -i "s|^$reject\$|-A INPUT $r\n&|" "$f"
	echo "open-web: $f: added '$r'"
	changed=1
done
if [ "$changed" -eq 1 ]; then
	iptables-restore <"$f"
	echo "open-web: rules loaded"
else
	echo "open-web: nothing changed"
fi
