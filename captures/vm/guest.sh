#!/bin/bash
# PID 1 inside the capture VM (see make-captures-vm.sh), on the host's root
# filesystem (read-only, under a tmpfs overlay) with captures/ at /vm-out and
# the run's control directory at /vm-ctl. Loads the modules the scenarios need
# (nothing would autoload them from here), runs make-captures.sh for the
# scenarios listed in /vm-ctl/scenarios, leaves its exit status in /vm-ctl/rc
# and powers the VM off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
ip link set lo up
for m in veth tun vxlan geneve ip_gre ipip sit nf_tables nft_reject_inet nft_reject nf_reject_ipv4 \
         nf_reject_ipv6 nft_ct nf_conntrack sch_tbf sch_ingress cls_u32 act_mirred; do
    modprobe "$m" || echo "guest: modprobe $m failed"
done
TSL_MACHINE="$(cat /vm-ctl/machine)"
export TSL_MACHINE
mapfile -t names < /vm-ctl/scenarios
rc=0
bash /vm-out/make-captures.sh "${names[@]}" || rc=$?
echo "$rc" > /vm-ctl/rc
sync
echo o > /proc/sysrq-trigger
sleep 10
