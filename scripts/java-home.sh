# Sourced by ./postern and ./mvnw: points JAVA_HOME at a JDK 25 or later.
# Order: JAVA_HOME if it is 25+, then /usr/lib/jvm/*25* (and later), then the java on PATH.
postern_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
}
postern_find_java() {
  local candidate major
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*25* /usr/lib/jvm/*2[6-9]* /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    major=$(postern_java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then echo "$candidate"; return 0; fi
  done
  if command -v javac >/dev/null 2>&1; then
    candidate=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    major=$(postern_java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then echo "$candidate"; return 0; fi
  fi
  return 1
}
if ! JAVA_HOME=$(postern_find_java); then
  echo "postern: no JDK 25 found (looked at JAVA_HOME, /usr/lib/jvm/*25*, and javac on PATH); install one, e.g. 'apt-get install openjdk-25-jdk-headless', or set JAVA_HOME" >&2
  exit 1
fi
export JAVA_HOME
