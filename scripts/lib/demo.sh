# Sourced by scripts/load and scripts/browser-tests: each run starts from a
# copy of the demo, loaded once into a pristine data directory (and, on
# PostgreSQL, a pristine database) by a server of its own.

# demo_load BIN DATA LOG READY [DATABASE_URL]
# Runs BIN serve --demo on the data directory DATA (and DATABASE_URL), its
# output in LOG, until LOG holds READY (a grep pattern), then stops it.
# Exits with the log's end when the server stops first.
demo_load() {
  local bin="$1" data="$2" log="$3" ready="$4" url="${5:-}"
  local args=(serve --demo --listen 127.0.0.1:0 --data-dir "$data")
  [[ -n $url ]] && args+=(--database-url "$url")
  mkdir -p "$data"
  "$bin" "${args[@]}" >"$log" 2>&1 &
  local pid=$!
  until grep -q "$ready" "$log"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -40 "$log" >&2
      echo "the server loading the demo stopped; its log is above ($log)" >&2
      exit 1
    fi
    sleep 0.5
  done
  kill -TERM "$pid"
  wait "$pid" || true
}

# pg_copy ADMIN_URL FROM TO: the database TO, dropped if it exists, made
# again as a copy of FROM (ADMIN_URL names a database that is neither).
pg_copy() {
  psql -q -v ON_ERROR_STOP=1 "$1" -c "DROP DATABASE IF EXISTS \"$3\" WITH (FORCE)" \
    -c "CREATE DATABASE \"$3\" TEMPLATE \"$2\""
}
