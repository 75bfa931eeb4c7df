package io.mobilesdk.pose

import android.graphics.Bitmap
import android.graphics.ImageFormat
import android.graphics.Rect
import android.graphics.RectF
import io.mobilesdk.pose.internal.FrameInputs
import io.mobilesdk.pose.internal.KotlinPreprocessor
import io.mobilesdk.pose.internal.NativeCore
import io.mobilesdk.pose.internal.NativeProcessor
import io.mobilesdk.pose.internal.directBuffer
import io.mobilesdk.pose.testing.Compare
import io.mobilesdk.pose.testing.ModelFixture
import io.mobilesdk.pose.testing.PreprocessCase
import io.mobilesdk.pose.testing.Pixels
import io.mobilesdk.pose.testing.TestImage
import io.mobilesdk.pose.testing.TestInputs
import io.mobilesdk.pose.testing.TestManifests
import io.mobilesdk.pose.testing.VectorFrame
import java.nio.ByteBuffer
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.GraphicsMode

/**
 * Camera inputs (android.media.Image in YUV_420_888 and RGBA_8888 with crop rects, RgbaFrame), Bitmap
 * configs and scratch memory, mirroring, normalized coordinates and typed keypoint ids.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class CameraInputsTest {
    private fun cases(): List<PreprocessCase> = PreprocessCase.load()

    /** Y (w x h), U, V (w/2 x h/2) samples of a YUV vector frame, row-major. */
    private fun yuvSamples(f: VectorFrame): Triple<ByteArray, ByteArray, ByteArray> {
        val w = f.width
        val h = f.height
        val y = ByteArray(w * h) { f.data[0][(it / w) * f.rowStrides[0] + (it % w) * f.pixelStrides[0]] }
        val cw = w / 2
        fun chroma(plane: Int, extra: Int) = ByteArray(cw * (h / 2)) { f.data[plane][(it / cw) * f.rowStrides[plane] + (it % cw) * f.pixelStrides[plane] + extra] }
        return if (f.format == "nv21") Triple(y, chroma(1, 1), chroma(1, 0)) else Triple(y, chroma(1, 0), chroma(2, 0))
    }

    /** R, G, B, A bytes of a packed vector frame (w x h x 4). */
    private fun rgbaBytes(f: VectorFrame): ByteArray {
        val argb = f.argb()
        val out = ByteArray(4 * argb.size)
        for (i in argb.indices) {
            out[4 * i] = (argb[i] shr 16).toByte(); out[4 * i + 1] = (argb[i] shr 8).toByte()
            out[4 * i + 2] = argb[i].toByte(); out[4 * i + 3] = (argb[i] ushr 24).toByte()
        }
        return out
    }

    /**
     * Each vector frame inside a larger camera Image, cropped back to it by the Image's crop rect: YUV as I420
     * (pixel stride 1, even crop) and NV12 (pixel stride 2, an odd crop rect that widens to the frame), RGBA
     * with row padding and an odd crop offset.
     */
    private fun images(c: PreprocessCase): List<Pair<String, TestImage>> {
        val f = c.frame
        val w = f.width
        val h = f.height
        if (c.isYuv) {
            val (y, u, v) = yuvSamples(f)
            return listOf(
                "I420, crop (4, 2)" to TestImage.yuv(w + 8, h + 6, 4, 2, w, h, y, u, v, 1, 3, Rect(4, 2, 4 + w, 2 + h)),
                "NV12, odd crop widened" to TestImage.yuv(w + 8, h + 6, 4, 2, w, h, y, u, v, 2, 5, Rect(5, 3, 3 + w, 1 + h)),
            )
        }
        return listOf("RGBA, padded rows, crop (3, 1)" to TestImage.rgba(w + 5, h + 3, 3, 1, w, h, rgbaBytes(f), 12, Rect(3, 1, 3 + w, 1 + h)))
    }

    @Test
    fun imagesGiveTheReferenceModelInputInKotlinAndNative() {
        TestInputs.nativeLibrary()
        val failures = mutableListOf<String>()
        var n = 0
        for (c in cases()) {
            val (codec, outs) = TestManifests.simccFor(c.input)
            val native = NativeProcessor(ModelSpec.fromManifest(TestManifests.build(c.input, codec, 17, outs)))
            try {
                for ((what, img) in images(c)) {
                    val frame = FrameInputs.image(img, c.rotation)
                    val kt = directBuffer(c.spec.bytes)
                    KotlinPreprocessor(c.spec).run(frame, c.roi, kt, FloatArray(6))
                    val dk = Compare.maxDiff(kt, c.dtype, c.expected)
                    if (dk > c.tolerance) failures += "${c.name} ($what, Kotlin): max diff $dk"
                    val nat = directBuffer(c.spec.bytes)
                    native.preprocess(frame, c.roi, nat, FloatArray(6))
                    val dn = Compare.maxDiff(nat, c.dtype, c.expected)
                    if (dn > c.tolerance) failures += "${c.name} ($what, native): max diff $dn"
                    n++
                }
            } finally {
                native.close()
            }
        }
        assertTrue(failures.joinToString("\n"), failures.isEmpty())
        assertTrue("$n image cases", n >= 80)
    }

    /** The real ExecuTorch estimator: estimate(Image) and estimate(RgbaFrame) = the native core on the vector's own planes. */
    @Test
    fun imagesAndRgbaFramesGiveTheKeypointsOfTheFrame() {
        val fx = ModelFixture.load()
        val handle = NativeCore.nativeCreateEstimator(fx.pte.absolutePath, fx.spec.manifestJson, fx.spec.recipe, 1)
        val k = fx.spec.numKeypoints
        fun direct(fr: VectorFrame, rotation: Int, roi: FloatArray?): List<Triple<Float, Float, Float>> {
            val out = FloatArray(NativeCore.resultSize(k))
            NativeCore.nativeEstimate(
                handle, fr.nativeFormat, fr.width, fr.height, rotation,
                fr.direct(0)!!, fr.rowStrides[0], fr.pixelStrides[0],
                fr.direct(1), fr.rowStrides.getOrElse(1) { 0 }, fr.pixelStrides.getOrElse(1) { 0 },
                fr.direct(2), fr.rowStrides.getOrElse(2) { 0 }, fr.pixelStrides.getOrElse(2) { 0 },
                roi, out,
            )
            return (0 until k).map { Triple(out[4 * it], out[4 * it + 1], out[4 * it + 3]) }
        }
        fun same(what: String, want: List<Triple<Float, Float, Float>>, r: PoseResult) {
            val got = r.poses.single().keypoints
            for (j in want.indices) {
                assertEquals("$what keypoint $j x", want[j].first, got[j].x, 1e-3f)
                assertEquals("$what keypoint $j y", want[j].second, got[j].y, 1e-3f)
                assertEquals("$what keypoint $j score", want[j].third, got[j].score, 1e-5f)
            }
        }
        var n = 0
        try {
            fx.estimator(PoseEstimator.Options(threads = 1)).use { est ->
                for (c in cases()) {
                    val roi = c.roi?.let { RectF(it[0], it[1], it[2], it[3]) }
                    val want = direct(c.frame, c.rotation, c.roi)
                    for ((what, img) in images(c)) {
                        same("${c.name} ($what)", want, est.estimate(img, c.rotation, roi))
                        n++
                    }
                    if (!c.isYuv) { // the public plain-planes type, heap (copied for the core) and direct
                        val f = c.frame
                        val bytes = rgbaBytes(f)
                        val rs = 4 * f.width + 8
                        val padded = ByteArray(rs * f.height).also { p -> for (r in 0 until f.height) System.arraycopy(bytes, 4 * f.width * r, p, rs * r, 4 * f.width) }
                        same("${c.name} (RgbaFrame heap)", want, est.estimate(RgbaFrame(f.width, f.height, ImagePlane(ByteBuffer.wrap(padded), rs, 4)), c.rotation, roi))
                        val d = ByteBuffer.allocateDirect(padded.size).put(padded).also { it.clear() }
                        same("${c.name} (RgbaFrame direct)", want, est.estimate(RgbaFrame(f.width, f.height, ImagePlane(d, rs, 4)), c.rotation, roi))
                    }
                }
            }
        } finally {
            NativeCore.nativeDestroyEstimator(handle)
        }
        assertTrue("$n image cases", n >= 80)
    }

    @Test
    fun badImagesThrowClearMessages() {
        val fx = ModelFixture.load()
        fx.estimator().use { est ->
            fun iae(what: String, contains: String, block: () -> Unit) {
                val e = assertThrows(what, IllegalArgumentException::class.java) { block() }
                assertTrue("$what: ${e.message}", e.message!!.contains(contains))
            }
            val y = ByteArray(64 * 48)
            val uv = ByteArray(32 * 24)
            val good = TestImage.yuv(64, 48, 0, 0, 64, 48, y, uv, uv, 2, 0, null)
            est.estimate(good, 0) // usable
            iae("JPEG image", "is neither YUV_420_888") {
                est.estimate(TestImage(ImageFormat.JPEG, 64, 48, good.planes), 0)
            }
            val rgba = TestImage.rgba(16, 8, 0, 0, 16, 8, ByteArray(16 * 8 * 4), 0, null)
            iae("RGBA pixel stride", "pixel stride must be 4") {
                est.estimate(TestImage(android.graphics.PixelFormat.RGBA_8888, 16, 8, arrayOf(TestImage.TestPlane(rgba.planes[0].buffer, 64, 3))), 0)
            }
            iae("RGBA short plane", "bytes") {
                est.estimate(RgbaFrame(16, 9, ImagePlane(ByteBuffer.allocate(16 * 8 * 4), 64, 4)), 0)
            }
            iae("rotation", "rotation") { est.estimate(good, 45) }
            est.estimate(good, 90) // still usable
        }
    }

    @Test
    fun bitmapConfigsBehaveAsDocumented() {
        val fx = ModelFixture.load()
        val argb = fx.bitmap(fx.case("fig128").getString("rgb"), 128, 128)
        fx.estimator().use { est ->
            val a = est.estimate(argb).poses[0]
            // RGBA_F16: converted to 8-bit by getPixels, exactly what its ARGB_8888 copy holds
            val f16 = argb.copy(Bitmap.Config.RGBA_F16, false)
            val f16As8888 = f16.copy(Bitmap.Config.ARGB_8888, false)
            val b = est.estimate(f16).poses[0]
            assertEquals("RGBA_F16 reads as its 8-bit colours", est.estimate(f16As8888).poses[0], b)
            val err = a.keypoints.indices.maxOf { j -> Math.hypot((a.keypoints[j].x - b.keypoints[j].x).toDouble(), (a.keypoints[j].y - b.keypoints[j].y).toDouble()) }
            assertTrue("RGBA_F16 vs ARGB_8888 keypoints: $err px", err < 0.5)
            // ALPHA_8 has no colour: refused (it used to read as black)
            val alpha = Bitmap.createBitmap(64, 48, Bitmap.Config.ALPHA_8)
            val e = assertThrows(IllegalArgumentException::class.java) { est.estimate(alpha) }
            assertTrue(e.message!!, e.message!!.contains("ALPHA_8") && e.message!!.contains("ARGB_8888"))
            assertEquals("usable after the refusal", a, est.estimate(argb).poses[0])
        }
    }

    @Test
    fun bitmapScratchStaysBoundedAfterALargeBitmap() {
        val fx = ModelFixture.load()
        fx.estimator().use { est ->
            val internals = ModelFixture.internals(est)
            val photo = Bitmap.createBitmap(4000, 3000, Bitmap.Config.ARGB_8888).also { it.eraseColor(0xFF336699.toInt()) }
            est.estimate(photo)
            assertTrue("after a 12 MP photo: ${internals.bitmapScratchPixels}", internals.bitmapScratchPixels <= PoseEstimator.BITMAP_SCRATCH_PIXELS)
            val small = Bitmap.createBitmap(640, 480, Bitmap.Config.ARGB_8888).also { it.eraseColor(0xFF996633.toInt()) }
            est.estimate(small)
            assertEquals("a 640x480 frame's array is kept for the next frames", 640 * 480, internals.bitmapScratchPixels)
            est.estimate(photo)
            assertEquals("a photo does not grow the kept array", 640 * 480, internals.bitmapScratchPixels)
        }
    }

    @Test
    fun mirrorSwapsFlipPairsAndMirrorsX() {
        val fx = ModelFixture.load()
        val c = fx.case("frame224-roi")
        val bmp = fx.bitmap(c.getString("rgb"), 224, 224)
        val stored = Pixels.storedFor(Pixels.of(bmp), 224, 224, 90) // upright 224 x 224 after rotation 90
        val rotated = Pixels.bitmap(stored.first, stored.second, stored.third)
        val pairs = fx.spec.flipPairs
        assertTrue("the model has flip pairs", pairs.isNotEmpty())
        val partner = IntArray(fx.spec.numKeypoints) { it }.also { p -> for ((a, b) in pairs) { p[a] = b; p[b] = a } }
        val roi = c.getJSONArray("roi").let { a -> RectF(a.getDouble(0).toFloat(), a.getDouble(1).toFloat(), a.getDouble(2).toFloat(), a.getDouble(3).toFloat()) }
        val mirroredRoi = RectF(224 - roi.right, roi.top, 224 - roi.left, roi.bottom)
        fx.estimator().use { plainEst ->
            fx.estimator(PoseEstimator.Options(mirror = true)).use { mirrorEst ->
                for ((what, p, m) in listOf(
                    Triple("whole frame", plainEst.estimate(rotated, 90), mirrorEst.estimate(rotated, 90)),
                    Triple("ROI", plainEst.estimate(rotated, 90, roi), mirrorEst.estimate(rotated, 90, mirroredRoi)),
                )) {
                    val a = p.poses[0].keypoints
                    val b = m.poses[0].keypoints
                    var swapped = 0
                    for (j in a.indices) {
                        val q = a[partner[j]]
                        assertEquals("$what: names stay in model order", fx.spec.keypointNames[j], b[j].name)
                        // (the ROI case crops a mirrored float box: equal up to float rounding)
                        assertEquals("$what ${b[j].name}: x mirrored from ${q.name}", 223 - q.x, b[j].x, 1e-3f)
                        assertEquals("$what ${b[j].name}: y", q.y, b[j].y, 1e-3f)
                        assertEquals("$what ${b[j].name}: score", q.score, b[j].score, 1e-5f)
                        assertEquals("$what ${b[j].name}: normalized x", 1f - q.normalizedX, b[j].normalizedX, 1e-5f)
                        if (partner[j] != j && Math.abs(a[j].x - q.x) > 1f) swapped++
                    }
                    assertTrue("$what: left/right partners sit apart, so the swap is visible ($swapped)", swapped >= 2)
                    p.roi?.let { r -> assertEquals(RectF(224 - r.right, r.top, 224 - r.left, r.bottom), m.roi) }
                    // the same keypoints are visible (partners swap), so the box is the plain one mirrored
                    val pb = p.poses[0].box
                    val mb = m.poses[0].box
                    assertEquals("$what: a box in both or neither", pb == null, mb == null)
                    if (pb != null && mb != null) {
                        assertEquals("$what: box left", 223 - pb.right, mb.left, 1e-3f)
                        assertEquals("$what: box right", 223 - pb.left, mb.right, 1e-3f)
                        assertEquals("$what: box top", pb.top, mb.top, 1e-3f)
                        assertEquals("$what: box bottom", pb.bottom, mb.bottom, 1e-3f)
                    }
                }
            }
        }
    }

    @Test
    fun normalizedCoordinatesAreRelativeToTheUprightFrame() {
        val fx = ModelFixture.load()
        val bmp = fx.bitmap(fx.case("frame224-roi").getString("rgb"), 224, 224)
        val wide = Bitmap.createBitmap(bmp, 0, 0, 224, 160) // 224 x 160 stored; rotated 90: 160 x 224 upright
        fx.estimator().use { est ->
            for (kp in est.estimate(wide, 90).poses[0].keypoints) {
                assertEquals(kp.name, (kp.x + 0.5f) / 160f, kp.normalizedX, 1e-6f)
                assertEquals(kp.name, (kp.y + 0.5f) / 224f, kp.normalizedY, 1e-6f)
            }
        }
    }

    /**
     * The Kotlin preprocessor allocates nothing per frame after its first call (HotSpot's per-thread allocated
     * bytes around repeated calls): YUV planes (direct and heap), RGBA planes and bitmap ints, with a rotation
     * and an ROI. Building the Frame from a public input allocates only its small descriptor objects.
     */
    @Test
    fun kotlinPreprocessingAllocatesNothingPerFrame() {
        val mx = java.lang.management.ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
        val id = Thread.currentThread().id
        val spec = InputSpec.fromJson(TestManifests.input(192, 256))
        val pre = KotlinPreprocessor(spec)
        val out = directBuffer(spec.bytes)
        val affine = FloatArray(6)
        val w = 640
        val h = 480
        val nv = ByteArray(w * h * 3 / 2) { (it * 37).toByte() }
        val direct = ByteBuffer.allocateDirect(nv.size).put(nv).also { it.clear() }
        val rgba = ByteBuffer.allocateDirect(4 * w * h)
        val frames = listOf(
            "NV21 direct" to io.mobilesdk.pose.internal.Frame.Yuv(w, h, 90, arrayOf(direct, direct, direct), intArrayOf(0, w * h + 1, w * h), intArrayOf(w, w, w), intArrayOf(1, 2, 2)),
            "NV21 byte[]" to io.mobilesdk.pose.internal.Frame.nv21(nv, w, h, 270),
            "RGBA" to FrameInputs.rgba(RgbaFrame(w, h, ImagePlane(rgba, 4 * w, 4)), 180),
            "ARGB ints" to io.mobilesdk.pose.internal.Frame.Pixels(IntArray(w * h), w, h, w, 0),
        )
        val roi = floatArrayOf(100f, 50f, 400f, 420f)
        repeat(2) { mx.getThreadAllocatedBytes(id) } // the probe's own first-call allocations
        for ((what, frame) in frames) {
            // warm-up: the output views (first call) and one-time JVM work (class init, the JIT's first runs)
            repeat(10) { pre.run(frame, roi, out, affine) }
            val batches = LongArray(3) {
                val before = mx.getThreadAllocatedBytes(id)
                repeat(20) { pre.run(frame, roi, out, affine) }
                mx.getThreadAllocatedBytes(id) - before
            }
            // a per-frame allocation shows in every batch (>= 20 x its size); allow only one-time JVM noise
            assertEquals("$what: bytes allocated per batch of 20 preprocess calls ${batches.contentToString()}", 0L, batches.min())
        }
    }

    private enum class Ids(override val index: Int, override val keypointName: String) : KeypointId {
        FIRST(0, "nose"),
        WRONG_NAME(1, "tail"),
        OUT_OF_RANGE(99, "nose"),
    }

    @Test
    fun typedKeypointIdsLookUpByIndexAndRefuseAnotherModelsIds() {
        val fx = ModelFixture.load()
        assertEquals("nose", fx.spec.keypointNames[0])
        fx.estimator().use { est ->
            val pose = est.estimate(fx.bitmap(fx.case("fig128").getString("rgb"), 128, 128)).poses[0]
            assertEquals(pose["nose"], pose[Ids.FIRST])
            for (id in listOf(Ids.WRONG_NAME, Ids.OUT_OF_RANGE)) {
                val e = assertThrows(IllegalArgumentException::class.java) { pose[id] }
                assertTrue(e.message!!, e.message!!.contains(id.keypointName) && e.message!!.contains("nose"))
            }
        }
    }
}
