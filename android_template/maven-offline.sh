#!/usr/bin/env bash
# Resolve, once and online, every Maven artifact mobilesdk's Android side needs, so that everything after
# this runs with `mvn -o` (tests, the runtime build and the AAR packaging of `mobilesdk build`):
#   - toolchain/pom.xml: the TFLite and androidx.test AARs unpacked to jars and installed as
#     io.mobilesdk.toolchain:*-classes, Robolectric's android-all(-instrumented) 14 jars, the Kotlin compiler;
#   - toolchain/kotlinc/pom.xml: the Kotlin compiler's classpath (for running K2JVMCompiler directly); the
#     android-all of minSdk 24 and the kotlin-stdlib the AARs declare, which the AAR's classes compile against;
#   - toolchain/kotlinc-app/pom.xml and toolchain/proguard/pom.xml: Kotlin 1.9 and ProGuard, with which the tests
#     compile and shrink an app's use of a generated AAR;
#   - runtime/pom.xml: every plugin of its lifecycle up to `verify` (Kotlin, surefire and its JUnit 4
#     provider, jar), Robolectric, JUnit, run once on one test class so the lazily resolved parts come too.
# About 450 MB land in ~/.m2 on the first run. Re-running is cheap: a stamp keyed by this script and the POMs
# skips the work while the resolved artifacts are still there. Called by ./install.sh.
set -euo pipefail
cd "$(dirname "$0")"
HERE="$(pwd)"

if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven openjdk-17-jdk-headless >/dev/null
  else
    echo "maven-offline.sh: needs a JDK 17 and Maven 3.8+ (Debian: sudo apt-get install openjdk-17-jdk-headless maven)" >&2
    exit 1
  fi
fi

# The local repository Maven uses (settings.xml or -Dmaven.repo.local in MAVEN_OPTS), for the stamp below.
REPO_LOCAL="$(mvn -B -q -Dstyle.color=never org.apache.maven.plugins:maven-help-plugin:3.4.0:evaluate \
  -Dexpression=settings.localRepository -DforceStdout 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | tail -n 1 || true)"
[ -n "$REPO_LOCAL" ] && [ -d "$(dirname "$REPO_LOCAL")" ] || REPO_LOCAL="$HOME/.m2/repository"
TOOL_POMS=(toolchain/kotlinc/pom.xml toolchain/kotlinc-app/pom.xml toolchain/proguard/pom.xml)
KEY="$(cat "$HERE/$(basename "$0")" toolchain/pom.xml "${TOOL_POMS[@]}" runtime/pom.xml | sha256sum | cut -c1-16)"
STAMP="$REPO_LOCAL/io/mobilesdk/toolchain/offline-ready-$KEY"
NEEDED=(
  "$REPO_LOCAL/io/mobilesdk/toolchain/tensorflow-lite-api-classes/2.16.1/tensorflow-lite-api-classes-2.16.1.jar"
  "$REPO_LOCAL/org/robolectric/android-all-instrumented/14-robolectric-10818077-i7/android-all-instrumented-14-robolectric-10818077-i7.jar"
  "$REPO_LOCAL/org/jetbrains/kotlin/kotlin-compiler-embeddable/2.4.21/kotlin-compiler-embeddable-2.4.21.jar"
  "$REPO_LOCAL/org/robolectric/android-all/7.0.0_r1-robolectric-r1/android-all-7.0.0_r1-robolectric-r1.jar"
  "$REPO_LOCAL/org/jetbrains/kotlin/kotlin-stdlib/2.0.21/kotlin-stdlib-2.0.21.jar"
  "$REPO_LOCAL/org/jetbrains/kotlin/kotlin-compiler-embeddable/1.9.25/kotlin-compiler-embeddable-1.9.25.jar"
  "$REPO_LOCAL/com/guardsquare/proguard-base/7.8.2/proguard-base-7.8.2.jar"
)
ready=1
[ -f "$STAMP" ] || ready=0
for f in "${NEEDED[@]}"; do [ -f "$f" ] || ready=0; done
if [ "$ready" -eq 1 ]; then
  exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
MVN=(mvn -B -q -Dstyle.color=never)

echo "maven-offline.sh: resolving the Kotlin, Android (Robolectric) and TFLite toolchain into $REPO_LOCAL ..." >&2
"${MVN[@]}" -f toolchain/pom.xml install -Dmobilesdk.build.dir="$WORK/toolchain"
for pom in "${TOOL_POMS[@]}"; do
  "${MVN[@]}" -f "$pom" dependency:build-classpath -Dmdep.outputFile="$WORK/tool.classpath"
done
# The runtime's lifecycle up to the jar, with one Robolectric test class (no test inputs: the rest skip).
"${MVN[@]}" -f runtime/pom.xml verify -Dmobilesdk.build.dir="$WORK/runtime" -Dtest=ModelSpecTest \
  -Dsurefire.failIfNoSpecifiedTests=false
# Prove it: the same steps offline.
"${MVN[@]}" -o -f runtime/pom.xml package -Dmaven.test.skip=true -Dmobilesdk.build.dir="$WORK/offline"
for pom in "${TOOL_POMS[@]}"; do
  "${MVN[@]}" -o -f "$pom" dependency:build-classpath -Dmdep.outputFile="$WORK/tool.classpath"
done

mkdir -p "$(dirname "$STAMP")"
rm -f "$(dirname "$STAMP")"/offline-ready-*
touch "$STAMP"
echo "maven-offline.sh: done; Maven runs offline (-o) from now on" >&2
