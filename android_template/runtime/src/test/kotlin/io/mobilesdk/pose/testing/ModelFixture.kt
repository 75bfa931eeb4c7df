package io.mobilesdk.pose.testing

import android.graphics.Bitmap
import io.mobilesdk.pose.ModelSpec
import io.mobilesdk.pose.PoseEstimator
import io.mobilesdk.pose.internal.DefaultPoseEstimator
import java.io.File
import org.json.JSONObject
import org.robolectric.RuntimeEnvironment

/**
 * The end-to-end fixture of tests/android (-Dmobilesdk.fixtures, written by tests/android/conftest.py): the
 * real movepose-xs-128 ExecuTorch program with trained fixture weights (shared with tests/native), its
 * manifest, test frames with the Python path's keypoints, one frame's model input and raw outputs, a video.
 * Every estimator made here is the real one: the native core over the ExecuTorch C++ runtime, through JNI.
 */
class ModelFixture private constructor(val dir: File) {
    val doc = JSONObject(File(dir, "fixture.json").readText())
    val manifest: String = File(doc.getString("manifest")).readText()
    val spec: ModelSpec = ModelSpec.fromManifest(manifest, doc.getString("recipe"))
    val pte = File(doc.getString("pte"))
    val cases: List<JSONObject> = doc.getJSONArray("cases").let { a -> (0 until a.length()).map { a.getJSONObject(it) } }

    fun case(name: String): JSONObject = cases.first { it.getString("name") == name }

    fun bytes(name: String): ByteArray = File(dir, name).readBytes()

    /** Little-endian float32 file (model tensors written by the fixture). */
    fun floats(name: String): FloatArray {
        val b = java.nio.ByteBuffer.wrap(bytes(name)).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
        return FloatArray(b.remaining()).also { b.get(it) }
    }

    /** A packed RGB file as ARGB ints (opaque). */
    fun argb(name: String, w: Int, h: Int): IntArray {
        val rgb = bytes(name)
        return IntArray(w * h) { i ->
            (0xFF shl 24) or ((rgb[3 * i].toInt() and 0xFF) shl 16) or ((rgb[3 * i + 1].toInt() and 0xFF) shl 8) or (rgb[3 * i + 2].toInt() and 0xFF)
        }
    }

    fun bitmap(name: String, w: Int, h: Int): Bitmap = Bitmap.createBitmap(argb(name, w, h), w, h, Bitmap.Config.ARGB_8888)

    /** The real ExecuTorch estimator on [pte] ([options] with modelFile = the fixture's program). */
    fun estimator(options: PoseEstimator.Options = PoseEstimator.Options()): PoseEstimator =
        offMain { PoseEstimator.create(RuntimeEnvironment.getApplication(), spec, options.copy(modelFile = pte)) }

    companion object {
        /** Loads the JNI library (-Dmobilesdk.native.lib) and the fixture; a missing property skips the test. */
        fun load(): ModelFixture {
            TestInputs.nativeLibrary()
            return ModelFixture(TestInputs.dir("mobilesdk.fixtures"))
        }

        /** The estimator's engine-call instrumentation (see DefaultPoseEstimator.pipelineCalls). */
        internal fun internals(estimator: PoseEstimator): DefaultPoseEstimator = estimator as DefaultPoseEstimator
    }
}

/** Pixel arrays turned as a camera stores them: [rotate] `upright` so that `rotationDegrees` makes it upright. */
object Pixels {
    /**
     * The stored frame for an upright [w] x [h] frame and a clockwise [rotation] back to upright (the inverse
     * of the rotation the estimator applies): (stored pixels, stored width, stored height). Exact: a permutation.
     */
    fun storedFor(upright: IntArray, w: Int, h: Int, rotation: Int): Triple<IntArray, Int, Int> = when (rotation) {
        0 -> Triple(upright.copyOf(), w, h)
        // stored = upright turned counter-clockwise by 90: stored(row i, col j) = upright(row j, col w-1-i)
        90 -> Triple(IntArray(w * h) { k -> val i = k / h; val j = k % h; upright[j * w + (w - 1 - i)] }, h, w)
        180 -> Triple(IntArray(w * h) { k -> upright[w * h - 1 - k] }, w, h)
        // stored = upright turned clockwise by 90: stored(row i, col j) = upright(row h-1-j, col i)
        270 -> Triple(IntArray(w * h) { k -> val i = k / h; val j = k % h; upright[(h - 1 - j) * w + i] }, h, w)
        else -> error("rotation $rotation")
    }

    fun of(bitmap: Bitmap): IntArray = IntArray(bitmap.width * bitmap.height).also { bitmap.getPixels(it, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height) }

    fun bitmap(px: IntArray, w: Int, h: Int): Bitmap = Bitmap.createBitmap(px, w, h, Bitmap.Config.ARGB_8888)
}
