#!/usr/bin/env bash
# Writes the root filesystem of the PostgreSQL test image as a tar: this machine's PostgreSQL (the
# Debian package the test setup installs) with the libraries it links, busybox for a shell, and an
# entrypoint that initialises the data directory on first start, as the postgres image does
# (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB). Tests `docker import` it (see
# test/support/database-images.ts); no registry is needed. Usage: postgres-test-image.sh OUT.tar
set -euo pipefail
out=${1:?usage: postgres-test-image.sh OUT.tar}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -n $bin ]] || { echo "postgres-test-image: PostgreSQL is not installed (bash scripts/setup.sh test installs it)" >&2; exit 1; }
version=$(basename "$(dirname "$bin")")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,tmp,root,var/run/postgresql,var/lib/postgresql} "$root$bin" "$root/usr/lib/postgresql/$version/lib"
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [[ $applet == bin/busybox ]] || ln -sf /bin/busybox "$root/$applet"
done
tools=(postgres initdb pg_dump pg_dumpall pg_restore psql)
for tool in "${tools[@]}"; do cp "$bin/$tool" "$root$bin/"; done
# initdb loads these modules; nothing else of the lib directory is needed.
cp "/usr/lib/postgresql/$version/lib/"{plpgsql.so,dict_snowball.so} "$root/usr/lib/postgresql/$version/lib/"
for lib in $(ldd "${tools[@]/#/$bin/}" "$root/usr/lib/postgresql/$version/lib/"*.so 2>/dev/null | awk '/=>/ {print $3; next} /ld-linux/ {print $1}' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
mkdir -p "$root/usr/share/postgresql" "$root/usr/share/zoneinfo/Etc"
cp -r "/usr/share/postgresql/$version" "$root/usr/share/postgresql/$version"
cp /usr/share/zoneinfo/UTC "$root/usr/share/zoneinfo/UTC"
cp /usr/share/zoneinfo/UTC "$root/usr/share/zoneinfo/Etc/UTC"
printf 'root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\npostgres:x:999:\nnogroup:x:65534:\n' >"$root/etc/group"

cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'ENTRY'
#!/bin/sh
# Initialises the data directory on first start (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB),
# then runs the server in the foreground as the postgres user.
set -e
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
  user=${POSTGRES_USER:-postgres}
  printf '%s\n' "$POSTGRES_PASSWORD" >/tmp/pwfile
  chown postgres /tmp/pwfile
  su postgres -s /bin/sh -c "initdb -D '$PGDATA' -U '$user' --pwfile=/tmp/pwfile --auth=scram-sha-256 --encoding=UTF8 --locale=C" >/dev/null
  rm -f /tmp/pwfile
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ -n "$POSTGRES_DB" ] && [ "$POSTGRES_DB" != "$user" ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\";" | su postgres -s /bin/sh -c "postgres --single -j -D '$PGDATA' postgres" >/dev/null
  fi
fi
exec su postgres -s /bin/sh -c "exec postgres -D '$PGDATA' -c listen_addresses='*'"
ENTRY
chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
echo "$version" >"$root/etc/postgresql-version"
tar --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 -C "$root" -cf "$out.tmp" .
mv "$out.tmp" "$out"
