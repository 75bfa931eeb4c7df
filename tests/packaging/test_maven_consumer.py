"""The POM and m2/ work for a real Maven consumer: a throwaway project resolves the AARs from dist/<id>/m2/ with
their dependencies, offline (`mvn -o`), with strict checksums.

The consumer's local repository is a fresh folder and the user's ~/.m2 repository is its `central` (a file://
repository), so nothing of this test lands in ~/.m2. `-Daether.offline.protocols=file` lets offline Maven read
file:// repositories (it refuses every remote one otherwise).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from mobilesdk.packaging.toolchain import find_toolchain
from tests.codegen.manifests import ANDROID_CACHE

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>test.consumer</groupId>
  <artifactId>app</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <repositories>
    <repository><id>central</id><url>{central}</url></repository>
    <repository><id>mobilesdk-dist</id><url>{dist}</url></repository>
  </repositories>
  <pluginRepositories>
    <pluginRepository><id>central</id><url>{central}</url></pluginRepository>
  </pluginRepositories>
  <dependencies>
{dependencies}
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.6.1</version>
      </plugin>
    </plugins>
  </build>
</project>
"""


def test_a_maven_project_resolves_the_aars_and_their_dependencies(tiny_packaged, tmp_path):
    mvn = shutil.which("mvn") or pytest.fail("mvn not found: install Maven (./install.sh lists it)")
    folder, result = tiny_packaged
    repo = find_toolchain(ANDROID_CACHE).maven_repo
    deps = []
    for a in result.aars:
        group, artifact, version = a.coordinate.split(":")
        deps.append(
            f"    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{version}</version><type>aar</type></dependency>"
        )
    project = tmp_path / "consumer"
    project.mkdir()
    (project / "pom.xml").write_text(
        POM.format(central=repo.as_uri(), dist=(folder / "m2").as_uri(), dependencies="\n".join(deps))
    )
    out = tmp_path / "classpath.txt"
    cmd = [
        mvn,
        "-o",
        "-B",
        "-q",
        "-C",
        "-Daether.offline.protocols=file",
        f"-Dmaven.repo.local={tmp_path / 'local'}",
    ]
    cmd += ["dependency:build-classpath", f"-Dmdep.outputFile={out}"]
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    files = [p.rsplit("/", 1)[-1] for p in out.read_text().split(":")]
    versions = {a.coordinate.split(":")[1]: a.coordinate.split(":")[2] for a in result.aars}
    for artifact, version in versions.items():
        assert f"{artifact}-{version}.aar" in files, files
    assert {
        "kotlin-stdlib-2.0.21.jar",
        "tensorflow-lite-2.16.1.aar",
        "tensorflow-lite-api-2.16.1.aar",
    } <= set(files), files
