# Sourced by ./postern and the package's /usr/bin/postern, after java-home.sh: postern_exec JAR ARGS... runs Postern on
# $JAVA_HOME's java with the JVM options it ships (jvm.options beside this file, one per line, '#' starts a comment),
# then $POSTERN_JAVA_OPTS, which overrides any of them (the last occurrence of an option wins).
postern_exec() {
  local jar=$1
  shift
  postern_jvm
  exec "${postern_jvm_args[@]}" -jar "$jar" "$@"
}
# postern_jvm: the java command and its options (as above) into the array postern_jvm_args, for scripts that start
# Postern another way (bench/crash.sh runs it from a class path in the tests).
postern_jvm() {
  local options
  options="$(dirname "${BASH_SOURCE[0]}")/jvm.options"
  local -a jvm_options
  mapfile -t jvm_options < <(sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$options" | grep -v '^$')
  # glibc makes up to 8 malloc arenas per core, one per thread that mallocs at once (BoringSSL, the JIT); 2 suffice.
  export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
  # shellcheck disable=SC2206 # POSTERN_JAVA_OPTS is a list of options, split on spaces like JAVA_OPTS elsewhere
  postern_jvm_args=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED
    -Djdk.tls.rejectClientInitiatedRenegotiation=true "${jvm_options[@]}" ${POSTERN_JAVA_OPTS:-})
}
