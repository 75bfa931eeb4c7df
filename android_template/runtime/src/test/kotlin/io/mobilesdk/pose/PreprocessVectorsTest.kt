package io.mobilesdk.pose

import android.graphics.Bitmap
import io.mobilesdk.pose.internal.Frame
import io.mobilesdk.pose.internal.KotlinPreprocessor
import io.mobilesdk.pose.internal.NativeCore
import io.mobilesdk.pose.internal.directBuffer
import io.mobilesdk.pose.testing.Compare
import io.mobilesdk.pose.testing.ModelFixture
import io.mobilesdk.pose.testing.PreprocessCase
import io.mobilesdk.pose.testing.TestInputs
import io.mobilesdk.pose.testing.TestManifests
import io.mobilesdk.pose.testing.VectorFrame
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.GraphicsMode

/** Frame -> model input: Kotlin and native core against mobilesdk/preprocess.py (the shared vectors). */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class PreprocessVectorsTest {
    private fun cases(): List<PreprocessCase> = PreprocessCase.load()

    private fun checkAffine(c: PreprocessCase, got: FloatArray, who: String) {
        for (i in 0 until 6) {
            val tol = 1e-6 * maxOf(1.0, Math.abs(c.affine[i]))
            assertEquals("$who ${c.name}: affine[$i]", c.affine[i], got[i].toDouble(), tol)
        }
    }

    @Test
    fun kotlinMatchesReference() {
        val failures = mutableListOf<String>()
        for (c in cases()) {
            val pre = KotlinPreprocessor(c.spec)
            val out = directBuffer(c.spec.bytes)
            val affine = FloatArray(6)
            pre.run(c.frame.kotlinFrame(c.rotation), c.roi, out, affine)
            checkAffine(c, affine, "kotlin")
            val d = Compare.maxDiff(out, c.dtype, c.expected)
            if (d > c.tolerance) failures += "${c.name}: max diff $d"
        }
        assertTrue(failures.joinToString("\n"), failures.isEmpty())
    }

    /**
     * The public entry points hand the engine exactly the frame a vector describes. Two views, both real:
     *
     * - Kotlin processing (the TFLite engine's fallback): the frame the estimator builds from the caller's
     *   data (Bitmap.getPixels ints; Frame.nv21 for NV21 arrays) through KotlinPreprocessor equals the
     *   reference model input.
     * - The real ExecuTorch estimator (tests/android's movepose-xs-128 program): estimate(Bitmap / YuvFrame /
     *   NV21 bytes) gives the same keypoints and scores as the native core handed the vector's own planes
     *   (NativeCore.nativeEstimate), whose preprocessing equals the reference (nativeMatchesReferenceAndKotlin).
     *
     * The TFLite engine's estimate() itself (processor -> Interpreter -> decode) cannot run on the host JVM:
     * see TfliteEngineTest.
     */
    private class RealEngine(val f: ModelFixture) : AutoCloseable {
        val est = f.estimator(PoseEstimator.Options(threads = 1))
        private val handle = NativeCore.nativeCreateEstimator(f.pte.absolutePath, f.spec.manifestJson, f.spec.recipe, 1)
        private val k = f.spec.numKeypoints

        /** (x, y, score) per keypoint from the native core given the vector frame's planes as they are. */
        fun direct(fr: VectorFrame, rotation: Int, roi: FloatArray?, swapChroma: Boolean = false): List<Triple<Float, Float, Float>> {
            val out = FloatArray(NativeCore.resultSize(k))
            val (u, v) = if (swapChroma) 2 to 1 else 1 to 2
            NativeCore.nativeEstimate(
                handle, fr.nativeFormat, fr.width, fr.height, rotation,
                fr.direct(0)!!, fr.rowStrides[0], fr.pixelStrides[0],
                fr.direct(u), fr.rowStrides.getOrElse(u) { 0 }, fr.pixelStrides.getOrElse(u) { 0 },
                fr.direct(v), fr.rowStrides.getOrElse(v) { 0 }, fr.pixelStrides.getOrElse(v) { 0 },
                roi, out,
            )
            return (0 until k).map { Triple(out[4 * it], out[4 * it + 1], out[4 * it + 3]) }
        }

        override fun close() {
            est.close()
            NativeCore.nativeDestroyEstimator(handle)
        }
    }

    private fun keypoints(r: PoseResult) = r.poses.single().keypoints.map { Triple(it.x, it.y, it.score) }

    private fun assertSame(what: String, want: List<Triple<Float, Float, Float>>, got: List<Triple<Float, Float, Float>>) {
        for (j in want.indices) {
            assertEquals("$what keypoint $j x", want[j].first, got[j].first, 1e-3f)
            assertEquals("$what keypoint $j y", want[j].second, got[j].second, 1e-3f)
            assertEquals("$what keypoint $j score", want[j].third, got[j].third, 1e-5f)
        }
    }

    private fun rect(roi: FloatArray?) = roi?.let { android.graphics.RectF(it[0], it[1], it[2], it[3]) }

    /** Packed cases through a real Bitmap (setPixels, native graphics) and PoseEstimator.estimate(bitmap). */
    @Test
    fun bitmapMatchesReference() {
        var n = 0
        val answers = HashSet<List<Triple<Float, Float, Float>>>()
        RealEngine(ModelFixture.load()).use { engine ->
            for (c in cases().filter { it.frame.isPacked }) {
                val argb = c.frame.argb().map { it or (0xFF shl 24) }.toIntArray() // opaque: the reference ignores alpha
                val bmp = Bitmap.createBitmap(c.frame.width, c.frame.height, Bitmap.Config.ARGB_8888)
                bmp.setPixels(argb, 0, c.frame.width, 0, 0, c.frame.width, c.frame.height)
                // Kotlin processing: the ints the estimator reads from the bitmap -> the reference model input
                val px = IntArray(c.frame.width * c.frame.height)
                bmp.getPixels(px, 0, c.frame.width, 0, 0, c.frame.width, c.frame.height)
                val out = directBuffer(c.spec.bytes)
                KotlinPreprocessor(c.spec).run(Frame.Pixels(px, c.frame.width, c.frame.height, c.frame.width, c.rotation), c.roi, out, FloatArray(6))
                val d = Compare.maxDiff(out, c.dtype, c.expected)
                assertTrue("${c.name} (Kotlin, from the bitmap): $d", d <= c.tolerance)
                // the real engine: the public call = the native core on the vector's planes
                val got = keypoints(engine.est.estimate(bmp, c.rotation, rect(c.roi)))
                assertSame("${c.name} (estimate(bitmap))", engine.direct(c.frame, c.rotation, c.roi), got)
                answers += got
                n++
            }
        }
        assertTrue(n >= 30)
        assertTrue("different frames give different answers", answers.size >= n / 2)
    }

    /** YUV cases through the public YuvFrame (strided planes, heap and direct) and, when tightly packed, estimateNv21. */
    @Test
    fun publicYuvEntryPointsMatchReference() {
        var n = 0
        var chromaMatters = 0
        RealEngine(ModelFixture.load()).use { engine ->
            for (c in cases().filter { !it.frame.isPacked }) {
                val fr = c.frame
                val roi = rect(c.roi)
                val want = engine.direct(fr, c.rotation, c.roi)
                fun planes(direct: Boolean): YuvFrame = if (fr.format == "yuv420") {
                    val p = List(3) { ImagePlane(if (direct) fr.direct(it)!! else java.nio.ByteBuffer.wrap(fr.data[it]), fr.rowStrides[it], fr.pixelStrides[it]) }
                    YuvFrame(fr.width, fr.height, p[0], p[1], p[2])
                } else { // NV21 as semi-planar YUV_420_888: U is the V/U buffer from its second byte
                    val vu = java.nio.ByteBuffer.allocateDirect(fr.data[1].size).put(fr.data[1]).also { it.clear() }
                    val u = vu.duplicate().also { it.position(1) }.slice()
                    YuvFrame(fr.width, fr.height, ImagePlane(java.nio.ByteBuffer.wrap(fr.data[0]), fr.rowStrides[0], 1),
                        ImagePlane(u, fr.rowStrides[1], 2), ImagePlane(vu, fr.rowStrides[1], 2))
                }
                assertSame("${c.name} (YuvFrame, heap)", want, keypoints(engine.est.estimate(planes(false), c.rotation, roi)))
                assertSame("${c.name} (YuvFrame, direct)", want, keypoints(engine.est.estimate(planes(true), c.rotation, roi)))
                if (fr.format == "yuv420" && engine.direct(fr, c.rotation, c.roi, swapChroma = true) != want) chromaMatters++
                if (fr.format == "nv21" && fr.rowStrides[0] == fr.width) {
                    val bytes = fr.data[0].copyOf(fr.width * fr.height) + fr.data[1]
                    assertSame("${c.name} (NV21 bytes)", want, keypoints(engine.est.estimateNv21(bytes, fr.width, fr.height, c.rotation, roi)))
                    // Kotlin processing: the frame estimateNv21 builds -> the reference model input
                    val out = directBuffer(c.spec.bytes)
                    KotlinPreprocessor(c.spec).run(Frame.nv21(bytes, fr.width, fr.height, c.rotation), c.roi, out, FloatArray(6))
                    val d = Compare.maxDiff(out, c.dtype, c.expected)
                    assertTrue("${c.name} (Kotlin, NV21 bytes): $d", d <= c.tolerance)
                    n++
                }
                n++
            }
        }
        assertTrue(n >= 28)
        assertTrue("swapping U and V changes the answer (the comparison can fail): $chromaMatters", chromaMatters >= 5)
    }

    @Test
    fun nativeMatchesReferenceAndKotlin() {
        TestInputs.nativeLibrary()
        val failures = mutableListOf<String>()
        for (c in cases()) {
            val (codec, outs) = TestManifests.simccFor(c.input)
            val handle = NativeCore.nativeCreateProcessor(TestManifests.build(c.input, codec, 17, outs), null)
            try {
                assertEquals(c.spec.bytes, NativeCore.nativeInputBytes(handle))
                val out = directBuffer(c.spec.bytes)
                val affine = FloatArray(6)
                c.frame.nativePreprocess(handle, c.rotation, c.roi, out, affine)
                checkAffine(c, affine, "native")
                val d = Compare.maxDiff(out, c.dtype, c.expected)
                if (d > c.tolerance) failures += "${c.name} (planes): max diff $d"
                if (c.frame.isPacked) { // the Bitmap path: getPixels ints
                    val px = c.frame.argb()
                    val out2 = directBuffer(c.spec.bytes)
                    NativeCore.nativePreprocessPixels(handle, px, c.frame.width, c.frame.height, c.frame.width, c.rotation, c.roi, out2, affine)
                    val d2 = Compare.maxDiff(out2, c.dtype, c.expected)
                    if (d2 > c.tolerance) failures += "${c.name} (pixels): max diff $d2"
                }
                // native = Kotlin, on the very same input
                val kt = directBuffer(c.spec.bytes)
                KotlinPreprocessor(c.spec).run(c.frame.kotlinFrame(c.rotation), c.roi, kt, FloatArray(6))
                val dk = Compare.maxDiff(out, c.dtype, if (c.dtype == "uint8") bytesOf(kt) else floatsOf(kt))
                if (dk > c.tolerance) failures += "${c.name}: native vs Kotlin $dk"
            } finally {
                NativeCore.nativeDestroyProcessor(handle)
            }
        }
        assertTrue(failures.joinToString("\n"), failures.isEmpty())
    }

    private fun bytesOf(b: java.nio.ByteBuffer) = ByteArray(b.capacity()).also { b.duplicate().also { d -> d.clear() }.get(it) }

    private fun floatsOf(b: java.nio.ByteBuffer) =
        FloatArray(b.capacity() / 4).also { b.duplicate().order(java.nio.ByteOrder.nativeOrder()).also { d -> d.clear() }.asFloatBuffer().get(it) }
}
