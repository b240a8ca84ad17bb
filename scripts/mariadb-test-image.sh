#!/usr/bin/env bash
# Writes the root filesystem of the MariaDB test image as a tar: this machine's MariaDB server and
# client tools (the Debian packages the test setup installs) with the libraries they link, busybox
# for a shell, and an entrypoint that initialises the data directory on first start, as the mariadb
# image does (MARIADB_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD, MARIADB_DATABASE, MARIADB_USER and
# MARIADB_PASSWORD, or their MYSQL_ names). Tests `docker import` it (see
# test/support/mariadb-image.ts); no registry is needed. Usage: mariadb-test-image.sh OUT.tar
set -euo pipefail
out=${1:?usage: mariadb-test-image.sh OUT.tar}
for tool in /usr/sbin/mariadbd /usr/bin/mariadb /usr/bin/mariadb-dump; do
  [[ -x $tool ]] || { echo "mariadb-test-image: $tool is not installed (bash scripts/setup.sh test installs MariaDB)" >&2; exit 1; }
done
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,tmp,root,run/mysqld,var/lib/mysql,usr/share/mysql}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [[ $applet == bin/busybox ]] || ln -sf /bin/busybox "$root/$applet"
done
tools=(/usr/sbin/mariadbd /usr/bin/mariadb /usr/bin/mariadb-dump)
for tool in "${tools[@]}"; do cp "$tool" "$root$tool"; done
# The names MySQL's tools have, as Debian links them.
ln -s mariadbd "$root/usr/sbin/mysqld"
ln -s mariadb "$root/usr/bin/mysql"
ln -s mariadb-dump "$root/usr/bin/mysqldump"
for lib in $(ldd "${tools[@]}" 2>/dev/null | awk '/=>/ {print $3; next} /ld-linux/ {print $1}' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# The server's messages, character sets, and the SQL that makes its system tables.
cp -r /usr/share/mysql/english /usr/share/mysql/charsets "$root/usr/share/mysql/"
cp /usr/share/mysql/{mysql_system_tables.sql,mysql_performance_tables.sql,mysql_system_tables_data.sql} "$root/usr/share/mysql/"
printf 'root:x:0:0:root:/root:/bin/sh\nmysql:x:999:999:MariaDB:/var/lib/mysql:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nmysql:x:999:\nnogroup:x:65534:\n' >"$root/etc/group"

cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'ENTRY'
#!/bin/sh
# Initialises the data directory on first start (the root password, and an optional database and
# user), then runs the server in the foreground as the mysql user.
set -e
datadir=/var/lib/mysql
mkdir -p "$datadir" /run/mysqld
chown mysql:mysql "$datadir" /run/mysqld
# A value as an SQL string, and as an identifier.
string() { printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")"; }
name() { printf '`%s`' "$(printf '%s' "$1" | sed -e 's/`/``/g')"; }
if [ ! -d "$datadir/mysql" ]; then
  password=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:?MARIADB_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD must be set}}
  database=${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}
  user=${MARIADB_USER:-${MYSQL_USER:-}}
  user_password=${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}
  {
    # The bootstrap reads one statement a line.
    printf 'CREATE DATABASE IF NOT EXISTS mysql;\nUSE mysql;\nSET @auth_root_socket=NULL;\n'
    cat /usr/share/mysql/mysql_system_tables.sql /usr/share/mysql/mysql_performance_tables.sql /usr/share/mysql/mysql_system_tables_data.sql
    # Root has a password, locally and from anywhere; no password-less root is left.
    printf "DELETE FROM mysql.global_priv WHERE User='root' AND Host <> 'localhost';\n"
    printf 'FLUSH PRIVILEGES;\n'
    printf "ALTER USER root@localhost IDENTIFIED BY %s;\n" "$(string "$password")"
    printf "CREATE USER root@'%%' IDENTIFIED BY %s;\n" "$(string "$password")"
    printf "GRANT ALL ON *.* TO root@'%%' WITH GRANT OPTION;\n"
    [ -z "$database" ] || printf 'CREATE DATABASE %s;\n' "$(name "$database")"
    if [ -n "$user" ]; then
      printf "CREATE USER %s@'%%' IDENTIFIED BY %s;\n" "$(string "$user")" "$(string "$user_password")"
      [ -z "$database" ] || printf "GRANT ALL ON %s.* TO %s@'%%';\n" "$(name "$database")" "$(string "$user")"
    fi
  } | mariadbd --no-defaults --bootstrap --user=mysql --datadir="$datadir" --log-warnings=0 --enforce-storage-engine="" >/tmp/bootstrap.log 2>&1 || {
    cat /tmp/bootstrap.log >&2
    rm -rf "$datadir/mysql"
    exit 1
  }
  rm -f /tmp/bootstrap.log
fi
exec mariadbd --no-defaults --user=mysql --datadir="$datadir" --socket=/run/mysqld/mysqld.sock --bind-address=0.0.0.0 --skip-name-resolve
ENTRY
chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
/usr/sbin/mariadbd --version | awk '{print $3}' >"$root/etc/mariadb-version"
tar --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 -C "$root" -cf "$out.tmp" .
mv "$out.tmp" "$out"
