#!/bin/bash
# Runs as PID 1 of the test VM on the host's root (see init): mounts the cgroup v2
# unified hierarchy, puts the tests in a cgroup of their own with a private cgroup
# namespace (as a judge-worker container sees it: "/" with processes in it, so the
# judge must move them to a leaf before it can delegate), runs the command that
# run.sh left in /tmp/vm-io/cmd there, and writes its exit status to /tmp/vm-io/rc.
io=/tmp/vm-io
cd "$(cat "$io/cwd")" || exit 1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
export PYTHONDONTWRITEBYTECODE=1 CI="${CI:-}"
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ip link set lo up 2>/dev/null
echo "+memory +pids +cpu" >/sys/fs/cgroup/cgroup.subtree_control
mkdir /sys/fs/cgroup/worker
echo $$ >/sys/fs/cgroup/worker/cgroup.procs
echo "codetutor-vm: up after $(cut -d" " -f1 /proc/uptime) s; kernel $(uname -r), $(nproc) CPUs, cgroup controllers: $(cat /sys/fs/cgroup/worker/cgroup.controllers)"
# shellcheck disable=SC2016 # $0 is expanded by the inner bash
unshare --cgroup --mount --propagation private -- /bin/bash -c \
    'busybox umount -l /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec /bin/bash "$0"' "$io/cmd"
echo $? >"$io/rc"
sync
echo o >/proc/sysrq-trigger
sleep 60 2>/dev/null
