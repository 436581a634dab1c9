#!/usr/bin/env bash
# serve --config with distribution's configuration file (the shape the Debian package ships in
# /etc/docker/registry/config.yml): http.addr, storage.filesystem.rootdirectory, storage.delete.enabled: false,
# auth.htpasswd with a file written by `htpasswd -B`, notifications.endpoints, and keys Berth ignores, each named in one
# warning. Then docker login (client side) and skopeo with the htpasswd password; a wrong password refused; a delete
# refused with UNSUPPORTED. A rootdirectory holding distribution's own tree is refused with the import command, which
# run as printed lets the same file serve the imported image.
source "$(dirname "${BASH_SOURCE[0]}")/../clients/lib.sh"
need skopeo skopeo
need htpasswd apache2-utils
need docker docker.io
need docker-registry docker-registry
[ -n "${BERTH_CMD:-}" ] || fail "set BERTH_CMD to the Berth command (test.sh: the published executable)"
berth_cmd=$BERTH_CMD

htpasswd -B -b -c "$work/htpasswd" alice 'alice-secret-1' 2>/dev/null
htpasswd -b "$work/htpasswd" carol 'md5-is-refused' 2>/dev/null # MD5 ($apr1$): skipped, as distribution does
grep -q '^alice:\$2y\$' "$work/htpasswd" || fail "htpasswd -B did not write a bcrypt entry"

# write_config FILE PORT ROOT: the Debian package's file, with our address, root and htpasswd, deletes off, one endpoint.
write_config() {
	cat >"$1" <<-YAML
		version: 0.1
		log:
		  fields:
		    service: registry
		storage:
		  cache:
		    blobdescriptor: inmemory
		  filesystem:
		    rootdirectory: $3
		  delete:
		    enabled: false
		http:
		  addr: 127.0.0.1:$2
		  headers:
		    X-Content-Type-Options: [nosniff]
		auth:
		  htpasswd:
		    realm: basic-realm
		    path: $work/htpasswd
		health:
		  storagedriver:
		    enabled: true
		    interval: 10s
		    threshold: 3
		notifications:
		  events:
		    includereferences: true
		  endpoints:
		    - name: alistener
		      url: http://127.0.0.1:$hook_port/event
		      headers:
		        Authorization: [Bearer abc]
		      timeout: 500ms
		      threshold: 5
		      backoff: 1s
	YAML
}

# serve_berth CONFIG PORT: starts Berth with that file; sets berth_pid; waits for /v2/ (401: authentication is on).
serve_berth() {
	# shellcheck disable=SC2086  # BERTH_CMD is a command line
	env -u BERTH_ADMIN_PASSWORD $berth_cmd serve --config "$1" >"$work/berth.log" 2>&1 &
	berth_pid=$!
	cleanup_hooks+=("kill $berth_pid 2>/dev/null; wait $berth_pid 2>/dev/null")
	for _ in $(seq 300); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$2/v2/" || true)" = 401 ] && return 0
		kill -0 "$berth_pid" 2>/dev/null || fail "berth serve --config $1 exited: $(tail -n 5 "$work/berth.log")"
		sleep 0.1
	done
	fail "berth did not answer 401 on /v2/: $(tail -n 5 "$work/berth.log")"
}

# The endpoint's receiver: records every body it is sent (distribution's endpoints become site-wide webhooks).
hook_port=$(free_port)
python3 - "$hook_port" "$work/hook" <<'PY' &
import http.server, sys, os
os.makedirs(sys.argv[2], exist_ok=True)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        n = len(os.listdir(sys.argv[2]))
        open(os.path.join(sys.argv[2], f'{n}.json'), 'wb').write(body)
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
PY
hook_pid=$!
cleanup_hooks+=("kill $hook_pid 2>/dev/null; wait $hook_pid 2>/dev/null")

port=$(free_port)
registry=127.0.0.1:$port
write_config "$work/config.yml" "$port" "$work/root"
serve_berth "$work/config.yml" "$port"
grep -q 'ignored (no equivalent in Berth): log, storage.cache, http.headers, auth.htpasswd.realm, health, notifications.events, notifications.endpoints\[\].threshold, notifications.endpoints\[\].backoff' "$work/berth.log" \
	|| fail "the ignored keys are not named in one warning: $(grep -i ignored "$work/berth.log")"
grep -q 'notifications.endpoints: 1 endpoints read' "$work/berth.log" || fail "the endpoints are not reported"
grep -q 'notifications.endpoints alistener: its headers are not sent' "$work/berth.log" || fail "the endpoint's unsent headers are not named"
grep -q 'line 2 (carol) is not a bcrypt entry' "$work/berth.log" || fail "the MD5 entry is not reported"
grep -q 'auth.htpasswd: 1 users from' "$work/berth.log" || fail "the htpasswd user is not reported"
! grep -q 'alice-secret-1\|\$2y\$' "$work/berth.log" || fail "a password or hash reached the log"
[ -f "$work/root/berth.db" ] || fail "an empty rootdirectory is not Berth's data directory"
say "ok: distribution's file read; ignored keys, endpoints and the skipped MD5 entry named"

expect_equal "wrong password" "$(curl -s -o /dev/null -w '%{http_code}' -u alice:wrong "http://$registry/v2/")" "401"
expect_equal "carol (MD5 entry) cannot sign in" "$(curl -s -o /dev/null -w '%{http_code}' -u carol:md5-is-refused "http://$registry/v2/")" "401"
expect_equal "htpasswd password" "$(curl -s -o /dev/null -w '%{http_code}' -u alice:alice-secret-1 "http://$registry/v2/")" "200"
export DOCKER_CONFIG="$work/docker-config"
echo 'alice-secret-1' | docker login --password-stdin -u alice "$registry" >"$work/login.log" 2>&1 || fail "docker login: $(cat "$work/login.log")"
grep -q 'Login Succeeded' "$work/login.log" || fail "docker login: $(cat "$work/login.log")"
say "ok: docker login with the htpasswd password"
image=$(make_image "$work/image" amd64 1)
skopeo copy -q --dest-tls-verify=false --dest-creds alice:alice-secret-1 "oci:$work/image:latest" "docker://$registry/team/app:1" || fail "push as alice"
refused "skopeo push with a wrong password" skopeo copy -q --dest-tls-verify=false --dest-creds alice:nope "oci:$work/image:latest" "docker://$registry/team/app:2"
for _ in $(seq 100); do
	grep -ls '"action":"push"' "$work"/hook/*.json 2>/dev/null | xargs -r grep -l '"repository":"team/app"' | grep -q . && break
	sleep 0.1
done
grep -ls '"action":"push"' "$work"/hook/*.json 2>/dev/null | xargs -r grep -l '"repository":"team/app"' | grep -q . \
	|| fail "the notifications endpoint received no push event within 10 s: $(cat "$work"/hook/*.json 2>/dev/null | head -c 600)"
say "ok: the notifications endpoint received the push in distribution's envelope"
expect_equal "pull as alice" "$(skopeo inspect --tls-verify=false --creds alice:alice-secret-1 --format '{{.Digest}}' "docker://$registry/team/app:1")" "$image"
code=$(curl -s -o "$work/delete.json" -w '%{http_code}' -u alice:alice-secret-1 -X DELETE "http://$registry/v2/team/app/manifests/$image")
expect_equal "delete with storage.delete.enabled false: status" "$code" "405"
expect_equal "delete refused: error code" "$(jq -r '.errors[0].code' "$work/delete.json")" "UNSUPPORTED"
kill "$berth_pid"; wait "$berth_pid" 2>/dev/null || true

# A rootdirectory that holds distribution's tree: refused with the import command, which makes the same file work.
dist_port=$(free_port)
unset BERTH_CMD
launch_registry "$dist_port" || fail "distribution did not start"
dist=$registry dist_pid=$registry_pid registry_pid=
cleanup_hooks+=("kill $dist_pid 2>/dev/null; wait $dist_pid 2>/dev/null")
old=$(make_image "$work/old" amd64 2)
skopeo copy -q --dest-tls-verify=false "oci:$work/old:latest" "docker://$dist/legacy/app:1" || fail "push to distribution"
kill "$dist_pid"; wait "$dist_pid" 2>/dev/null || true
root="$work/registry-data"
port=$(free_port)
write_config "$work/config2.yml" "$port" "$root"
set +e
# shellcheck disable=SC2086
$berth_cmd serve --config "$work/config2.yml" >"$work/refused.log" 2>&1
rc=$?
set -e
expect_equal "serve on a distribution tree: exit code" "$rc" "2"
command=$(grep -o "'berth import registry2 [^']*'" "$work/refused.log" | tr -d "'") || fail "no import command in: $(cat "$work/refused.log")"
expect_equal "the command printed" "$command" "berth import registry2 $root --data $root/berth"
# shellcheck disable=SC2086
$berth_cmd ${command#berth } >"$work/import.log" 2>&1 || fail "the printed import failed: $(cat "$work/import.log")"
registry=127.0.0.1:$port
serve_berth "$work/config2.yml" "$port"
expect_equal "the imported image served from the same file" \
	"$(skopeo inspect --tls-verify=false --creds alice:alice-secret-1 --format '{{.Digest}}' "docker://$registry/legacy/app:1")" "$old"
say "passed"
