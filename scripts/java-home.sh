# Sourced by ./postern, ./mvnw and the package's /usr/bin/postern: points JAVA_HOME at a Java 25 or later.
# Order: JAVA_HOME if it is 25+, then /usr/lib/jvm/*25* (and later), then the one on PATH. Building needs a JDK
# (javac), the default; the package's launcher only runs Postern and sets postern_java_tool=java first, so a JRE will do.
postern_java_tool=${postern_java_tool:-javac}
postern_java_major() {
  local version
  # The JDK's release file answers without starting a JVM; a JDK without one is asked.
  version=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null)
  [ -n "$version" ] || version=$("$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
  echo "$version"
}
postern_find_java() {
  local candidate major
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*25* /usr/lib/jvm/*2[6-9]* /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/$postern_java_tool" ] || continue
    major=$(postern_java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then echo "$candidate"; return 0; fi
  done
  if command -v "$postern_java_tool" >/dev/null 2>&1; then
    candidate=$(dirname "$(dirname "$(readlink -f "$(command -v "$postern_java_tool")")")")
    major=$(postern_java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then echo "$candidate"; return 0; fi
  fi
  return 1
}
if ! JAVA_HOME=$(postern_find_java); then
  if [ "$postern_java_tool" = java ]; then
    echo "postern: no Java 25 runtime found (looked at JAVA_HOME, /usr/lib/jvm/*25*, and java on PATH); install one, e.g. 'apt-get install openjdk-25-jre-headless' or 'temurin-25-jre', or set JAVA_HOME" >&2
  else
    echo "postern: no JDK 25 found (looked at JAVA_HOME, /usr/lib/jvm/*25*, and javac on PATH); install one, e.g. 'apt-get install openjdk-25-jdk-headless', or set JAVA_HOME" >&2
  fi
  exit 1
fi
export JAVA_HOME
