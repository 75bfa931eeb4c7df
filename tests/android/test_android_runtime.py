"""The Kotlin runtime (android_template/runtime) under JUnit 4 + Robolectric 4.14.1 on the host JVM.

One `mvn -o test` per session runs every JVM test with the shared vectors (mobilesdk.vectors), the host JNI
library of the native core and the end-to-end fixture (a trained movepose-xs-128 .pte, frames and the Python
path's keypoints; see conftest.py). The surefire XML reports are parsed: a Maven failure, a failed or skipped
JUnit test, or fewer tests than listed here fail the pytest tests. Needs the Maven downloads of
android_template/maven-offline.sh (run by ./install.sh).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fixtures import NATIVE_CACHE

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "android_template" / "runtime"

# Every JUnit test, by class; a test missing from the reports fails (e.g. a class that silently stopped running).
EXPECTED = {
    "PreprocessVectorsTest": {
        "kotlinMatchesReference",
        "bitmapMatchesReference",
        "publicYuvEntryPointsMatchReference",
        "nativeMatchesReferenceAndKotlin",
    },
    "DecodeVectorsTest": {"kotlinMatchesReference", "nativeMatchesReference"},
    "EstimatorApiTest": {
        "keypointsComeBackInBitmapPixels",
        "roiAndRotation",
        "keypointsByName",
        "boxAndMinPoseScore",
        "otherBitmapConfigsAreRead",
        "badInputsThrowDocumentedExceptionsAndLeaveTheEstimatorUsable",
        "zeroSizeBitmapsCannotBeMadeAndZeroSizeFramesAreRejected",
        "closeIsIdempotentAndFinal",
        "threadsOptionSizesTheProcessWidePoolWhileNoEstimatorIsAlive",
        "concurrentCallsAreSerialisedAndCorrect",
        "closeWhileOtherThreadsEstimate",
        "videoTrackingStateChangesOnlyWithTrackedFrames",
        "executorchWithoutNativeLibraryFailsAtCreateSayingWhatIsMissing",
        "nativeProcessingChoice",
        "optionsAreValidated",
        "randomWeightsAreLoggedOnceAndExposed",
    },
    "ModelSpecTest": {
        "parsesBothArtifacts",
        "roiPaddingIsRead",
        "embeddedManifestWithOneArtifact",
        "errorsNameTheProblem",
        "defaultVisibilityThresholdIsHalfForEveryCodec",
        "visibilityCalibrationIsReadFromTheCodecSection",
    },
    "ModelFilesTest": {
        "copyIsVerifiedReusedAndReplacedAtomically",
        "hashIsCheckedOncePerInstalledVersion",
        "aCorruptAssetIsRefusedAndLeavesNothing",
        "missingAssetAndModelFile",
        "assetIsMappedAtItsOffsetInTheApk",
        "compressedAssetFailsWithTheNoCompressAdvice",
    },
    "TfliteEngineTest": {
        "interpreterOptions",
        "buffersFollowTheManifest",
        "createReachesTheInterpreterAndFailsCleanlyWithoutTheTfliteRuntime",
    },
    "VideoTrackerTest": {
        "followsSmoothsPredictsAndReacquires",
        "tooFewVisibleKeypointsIsLossAndBoxesAreClamped",
        "droppedFramesAndVariableRatesKeepThePredictionOnTheMotion",
    },
    "EndToEndTest": {
        "executorchEngineMatchesThePythonPath",
        "modelAssetIsCopiedToAppStorageWithItsHash",
        "nativeAndKotlinProcessingAgreeOnABitmap",
        "videoTrackerFollowsTheFigureAndReacquiresAfterLoss",
        "concurrentCallsOnTheRealEngine",
        "nativeErrorsSurfaceAsDocumentedExceptions",
    },
    "BenchmarkTest": {"decodeAndPreprocessTimings"},
    "LiveStreamTest": {
        "burstDropsFramesLatestWinsAndResultsComeInOrderOnTheExecutor",
        "timestampsMustIncreaseAndModesAreEnforced",
        "aFailedRunGoesToTheErrorListenerAndTheStreamGoesOn",
        "rgbaAndBitmapFramesAreCopiedToo",
        "videoModeSmoothsWithTheTimestampsAndImageModeDoesNot",
        "closeDuringALiveInferenceReturnsAtOnce",
    },
    "LifecycleTest": {
        "createRefusesTheMainThread",
        "closeDuringAnInferenceReturnsAtOnceAndTheInferenceFreesTheEngine",
        "theModelFileIsHashedOncePerInstalledVersion",
    },
    "PoseOverlayTest": {"drawsVisibleKeypointsAndLimbsWhereTheyAreOnAViewOfAnySize"},
    "SmoothingTest": {
        "aStillPointIsLowPassedAsTheFormulaSays",
        "aMovingPointHasLessJitterAndBoundedLag",
        "keypointsRestartWhenHiddenOrLost",
        "optionsAreValidated",
    },
    "CameraInputsTest": {
        "imagesGiveTheReferenceModelInputInKotlinAndNative",
        "imagesAndRgbaFramesGiveTheKeypointsOfTheFrame",
        "badImagesThrowClearMessages",
        "bitmapConfigsBehaveAsDocumented",
        "bitmapScratchStaysBoundedAfterALargeBitmap",
        "mirrorSwapsFlipPairsAndMirrorsX",
        "normalizedCoordinatesAreRelativeToTheUprightFrame",
        "typedKeypointIdsLookUpByIndexAndRefuseAnotherModelsIds",
        "kotlinPreprocessingAllocatesNothingPerFrame",
    },
}


@dataclass
class JvmRun:
    returncode: int
    output: str
    seconds: float
    results: dict[str, dict[str, str]] = field(default_factory=dict)  # class -> test -> outcome or message

    def outcome(self, cls: str, test: str) -> str:
        return self.results.get(cls, {}).get(test, "missing from the surefire reports")

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-n:])


def _parse_reports(folder: Path) -> dict[str, dict[str, str]]:
    results: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("TEST-*.xml")):
        root = ET.parse(path).getroot()
        cls = root.get("name", "").rsplit(".", 1)[-1]
        for case in root.iter("testcase"):
            outcome = "passed"
            for child in case:
                if child.tag in ("failure", "error", "skipped"):
                    text = (child.get("message") or "") + "\n" + (child.text or "")
                    outcome = f"{child.tag}: {text.strip()[:3000]}"
            results.setdefault(cls, {})[case.get("name", "")] = outcome
    return results


def _jni_library() -> Path:
    """The host libmobilesdk_pose_jni.so: the release build tests/native uses (same cache, file-locked)."""
    from mobilesdk.native import NativeBuildError, jni_library_path

    try:
        return jni_library_path(NATIVE_CACHE)
    except NativeBuildError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def jvm_run(vectors_dir, jvm_fixture, tmp_path_factory) -> JvmRun:
    for tool in ("mvn", "java"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: install a JDK 17 and Maven (./install.sh lists them)")
    build_dir = tmp_path_factory.mktemp("jvm-target")
    cmd = [
        "mvn",
        "-o",
        "-B",
        "-q",
        "-f",
        str(RUNTIME / "pom.xml"),
        "test",
        f"-Dmobilesdk.build.dir={build_dir}",
        f"-Dmobilesdk.vectors={vectors_dir}",
        f"-Dmobilesdk.native.lib={_jni_library()}",
        f"-Dmobilesdk.fixtures={jvm_fixture}",
        "-Dmobilesdk.bench=true",
        f"-Dmobilesdk.bench.out={build_dir / 'bench.json'}",
        f"-Dmobilesdk.tracker.out={build_dir / 'tracker.json'}",
        "-Dsurefire.failIfNoSpecifiedTests=false",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500, cwd=RUNTIME)
    run = JvmRun(proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - t0)
    run.results = _parse_reports(build_dir / "surefire-reports")
    if not run.results:
        hint = ""
        if "offline" in run.output.lower() or "Could not resolve" in run.output:
            hint = " (Maven artifacts missing: run android_template/maven-offline.sh once, online)"
        pytest.fail(f"the JVM tests did not run{hint}; mvn exited {proc.returncode}:\n{run.tail()}")
    return run


def test_maven_build_and_every_junit_test_passed(jvm_run: JvmRun) -> None:
    bad = {
        f"{cls}.{name}": outcome
        for cls, tests in jvm_run.results.items()
        for name, outcome in tests.items()
        if outcome != "passed"
    }
    assert not bad, "JUnit tests that did not pass (skips count as failures):\n" + "\n".join(
        f"{k}: {v}" for k, v in bad.items()
    )
    assert jvm_run.returncode == 0, f"mvn exited {jvm_run.returncode}:\n{jvm_run.tail()}"
    missing = [
        f"{c}.{t}" for c, tests in EXPECTED.items() for t in tests if t not in jvm_run.results.get(c, {})
    ]
    assert not missing, f"JUnit tests that did not run: {missing}"
    ran = sum(len(t) for t in jvm_run.results.values())
    assert ran >= sum(len(t) for t in EXPECTED.values())


@pytest.mark.parametrize(
    "cls,test",
    [
        ("PreprocessVectorsTest", "kotlinMatchesReference"),
        ("PreprocessVectorsTest", "bitmapMatchesReference"),
        ("PreprocessVectorsTest", "publicYuvEntryPointsMatchReference"),
        ("DecodeVectorsTest", "kotlinMatchesReference"),
        ("PreprocessVectorsTest", "nativeMatchesReferenceAndKotlin"),
        ("DecodeVectorsTest", "nativeMatchesReference"),
        ("EndToEndTest", "executorchEngineMatchesThePythonPath"),
        ("EndToEndTest", "nativeAndKotlinProcessingAgreeOnABitmap"),
        ("EndToEndTest", "videoTrackerFollowsTheFigureAndReacquiresAfterLoss"),
        ("EstimatorApiTest", "badInputsThrowDocumentedExceptionsAndLeaveTheEstimatorUsable"),
        ("EstimatorApiTest", "concurrentCallsAreSerialisedAndCorrect"),
        ("EstimatorApiTest", "executorchWithoutNativeLibraryFailsAtCreateSayingWhatIsMissing"),
        ("TfliteEngineTest", "createReachesTheInterpreterAndFailsCleanlyWithoutTheTfliteRuntime"),
        ("ModelFilesTest", "compressedAssetFailsWithTheNoCompressAdvice"),
        ("EstimatorApiTest", "randomWeightsAreLoggedOnceAndExposed"),
    ],
)
def test_junit(jvm_run: JvmRun, cls: str, test: str) -> None:
    """The headline properties, one pytest line each (the full list is checked above)."""
    assert jvm_run.outcome(cls, test) == "passed", jvm_run.outcome(cls, test)
