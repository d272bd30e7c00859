#!/usr/bin/env bash
# Times dashboard pages on a running Roster: N requests each, median and p95 (ms).
# Sign in first and keep the cookie in /tmp/cj, e.g. (owner password from the log):
#   CSRF=$(curl -s -c /tmp/cj -b /tmp/cj $BASE/admin/login | grep -o 'name="_csrf" value="[^"]*"' | sed 's/.*value="//;s/"//')
#   curl -s -c /tmp/cj -b /tmp/cj -d "_csrf=$CSRF&name=admin&password=..." $BASE/admin/login
# The page ids assume a database filled by `roster seed`.
set -euo pipefail
base=${BASE:-http://127.0.0.1:18090}
n=${N:-100}
measure() {
  local name=$1 path=$2
  for i in $(seq 1 "$n"); do
    curl -s -o /dev/null -b /tmp/cj -w '%{http_code} %{time_total}\n' "$base$path"
  done | sort -k2 -n | awk -v name="$name" '$1 != 200 { bad++ } { t[NR] = $2 * 1000 } END {
    printf "%-34s median %7.2f ms  p95 %7.2f ms  (n=%d, non-200: %d)\n", name, t[int(NR/2)+1], t[int(NR*0.95)], NR, bad }'
}
measure "user list" "/admin/users"
measure "user list, sign-up order, filters" "/admin/users?sort=created&state=active"
measure "search: national phone prefix" "/admin/users?q=%28202%29%20200-0"
measure "search: exact number" "/admin/users?q=%2B12012000000"
measure "search: name, accents folded" "/admin/users?q=chloe%20mu"
measure "search: name substring, mid-word" "/admin/users?q=ller"
measure "search: name, Cyrillic" "/admin/users?q=%D0%B8%D0%B2%D0%B0%D0%BD"
measure "search: name, common piece" "/admin/users?q=mar"
measure "search: name, no match" "/admin/users?q=zzzz"
measure "user list, name order" "/admin/users?sort=name&order=asc"
measure "user list, phone order, descending" "/admin/users?sort=phone&order=desc"
measure "user list, a page deep in the list" "/admin/users?after=500000.0&sort=seen"
measure "user list, previous page" "/admin/users?before=500000.0&sort=seen"
measure "user list, seen in 30 days" "/admin/users?active=30"
measure "user detail (in 10,000 books)" "/admin/users/1"
measure "user detail (book of 527)" "/admin/users/443"
measure "who has user 1 (10,000 books)" "/admin/users/1/have"
measure "overview" "/admin/"
measure "codes" "/admin/codes"
measure "audit log" "/admin/audit"
