package io.mobilesdk.pose

import android.graphics.Bitmap
import android.graphics.RectF
import io.mobilesdk.pose.internal.Estimators
import io.mobilesdk.pose.internal.KotlinProcessor
import io.mobilesdk.pose.testing.ModelFixture
import io.mobilesdk.pose.testing.Pixels
import io.mobilesdk.pose.testing.Specs
import io.mobilesdk.pose.testing.offMain
import java.nio.ByteBuffer
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.GraphicsMode
import org.robolectric.shadows.ShadowLog

/**
 * PoseEstimator's contract on the real ExecuTorch engine (the native core over the ExecuTorch C++ runtime,
 * through JNI, on the trained movepose-xs-128 program of tests/android): results in frame pixels, names,
 * scores and boxes, timings, errors, close, threads, options, video mode. The TFLite engine shares this
 * estimator class; its Interpreter cannot run on the host JVM (see TfliteEngineTest).
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class EstimatorApiTest {
    private val f by lazy { ModelFixture.load() }

    /** A synthetic gradient bitmap (for argument checks: any picture will do). */
    private fun gradient(w: Int, h: Int): Bitmap {
        val px = IntArray(w * h) { i -> (0xFF shl 24) or ((i % w * 255 / w) shl 16) or ((i / w * 255 / h) shl 8) or ((i * 7) and 0xFF) }
        return Bitmap.createBitmap(px, w, h, Bitmap.Config.ARGB_8888)
    }

    /** The fixture's 224 x 224 frame (a synthetic figure on noise) and the ROI around the figure. */
    private fun frame224(): Triple<IntArray, RectF, Int> {
        val c = f.case("frame224-roi")
        val r = c.getJSONArray("roi")
        val roi = RectF(r.getDouble(0).toFloat(), r.getDouble(1).toFloat(), r.getDouble(2).toFloat(), r.getDouble(3).toFloat())
        return Triple(f.argb(c.getString("rgb"), 224, 224), roi, 224)
    }

    private fun assertSamePose(what: String, want: Pose, got: Pose, dx: Float = 0f, dy: Float = 0f, tol: Float = 1e-2f) {
        assertEquals(what, want.keypoints.size, got.keypoints.size)
        for ((j, kp) in got.keypoints.withIndex()) {
            val w = want.keypoints[j]
            assertEquals("$what ${kp.name}", w.name, kp.name)
            assertEquals("$what ${kp.name} x", w.x + dx, kp.x, tol)
            assertEquals("$what ${kp.name} y", w.y + dy, kp.y, tol)
            assertEquals("$what ${kp.name} score", w.score, kp.score, 1e-4f)
        }
    }

    @Test
    fun keypointsComeBackInBitmapPixels() {
        f.estimator().use { est ->
            val c = f.case("fig128")
            val result = est.estimate(f.bitmap(c.getString("rgb"), 128, 128))
            val pose = result.poses.single()
            assertEquals(f.spec.keypointNames, pose.keypoints.map { it.name })
            assertEquals("nose", pose.keypoints[0].name)
            assertTrue(pose.keypoints.all { it.z == null && it.x.isFinite() && it.y.isFinite() && it.score in 0f..1f })
            assertNull(result.roi)
            assertEquals(pose.keypoints.map { it.score }.average(), pose.score.toDouble(), 1e-6)
            val t = result.timings
            assertTrue("$t", t.preprocessMs > 0f && t.inferenceMs > 0f && t.decodeMs >= 0f)
            assertTrue("$t: the whole call includes its stages", t.totalMs + 1e-3f >= t.preprocessMs + t.inferenceMs + t.decodeMs)

            // Frame pixels: the same picture placed at (+100, +70) in a larger frame, with the ROI moved as
            // much, gives the same keypoints moved as much (the model sees the same crop).
            val (px, roi, n) = frame224()
            val pad = 1.25f * maxOf(roi.width(), roi.height()) / 2
            assertTrue("the padded ROI $roi lies inside the 224 frame", roi.centerX() - pad > 1 && roi.centerX() + pad < n - 1 && roi.centerY() - pad > 1 && roi.centerY() + pad < n - 1)
            val base = est.estimate(Pixels.bitmap(px, n, n), roi)
            assertEquals(roi, base.roi)
            val bigW = 400
            val bigH = 330
            val big = IntArray(bigW * bigH) { i -> (0xFF shl 24) or (((i * 37) and 0xFF) shl 8) }
            for (y in 0 until n) System.arraycopy(px, y * n, big, (y + 70) * bigW + 100, n)
            val moved = RectF(roi.left + 100, roi.top + 70, roi.right + 100, roi.bottom + 70)
            val shifted = est.estimate(Pixels.bitmap(big, bigW, bigH), moved)
            assertEquals(moved, shifted.roi)
            assertSamePose("moved by (100, 70)", base.poses[0], shifted.poses[0], 100f, 70f)
        }
    }

    @Test
    fun roiAndRotation() {
        val (px, roi, n) = frame224()
        f.estimator().use { est ->
            val upright = est.estimate(Pixels.bitmap(px, n, n))
            val uprightRoi = est.estimate(Pixels.bitmap(px, n, n), roi)
            assertEquals(roi, uprightRoi.roi)
            var differs = 0
            for (j in upright.poses[0].keypoints.indices) if (upright.poses[0].keypoints[j] != uprightRoi.poses[0].keypoints[j]) differs++
            assertTrue("the ROI changes what the model sees", differs > 0)
            // A frame stored turned, with the rotation that makes it upright: results in the upright frame,
            // equal to the upright frame's (ROI given in upright pixels too).
            for (rotation in listOf(90, 180, 270)) {
                val (stored, sw, sh) = Pixels.storedFor(px, n, n, rotation)
                assertSamePose("rotation $rotation", upright.poses[0], est.estimate(Pixels.bitmap(stored, sw, sh), rotation).poses[0])
                val r = est.estimate(Pixels.bitmap(stored, sw, sh), rotation, roi)
                assertEquals(roi, r.roi)
                assertSamePose("rotation $rotation + roi", uprightRoi.poses[0], r.poses[0])
            }
            // A non-square upright frame: the stored (rotated) frame has the other aspect ratio.
            val c = f.case("frame224-rot90")
            val w = c.getInt("width")
            val h = c.getInt("height")
            val stored = f.argb(c.getString("rgb"), w, h)
            val r = est.estimate(Pixels.bitmap(stored, w, h), 90)
            val (back, bw, bh) = Pixels.storedFor(stored, w, h, 270) // turning it back: the upright frame
            assertEquals(h to w, bw to bh)
            assertSamePose("208 x 224 upright", est.estimate(Pixels.bitmap(back, bw, bh)).poses[0], r.poses[0])
        }
    }

    @Test
    fun keypointsByName() {
        f.estimator().use {
            val pose = it.estimate(gradient(64, 64)).poses.first()
            assertEquals(pose.keypoints[5], pose["left_shoulder"])
            assertNull(pose.getOrNull("tail"))
            val e = assertThrows(IllegalArgumentException::class.java) { pose["tail"] }
            assertTrue(e.message!!, e.message!!.contains("unknown keypoint 'tail'") && e.message!!.contains("nose, left_eye"))
            assertEquals(SkeletonEdge("left_ankle", "left_knee"), it.skeleton[0])
            val limbs = pose.limbs(it.skeleton)
            assertEquals(19, limbs.size)
            assertEquals(pose["left_ankle"] to pose["left_knee"], limbs[0])
            assertEquals(f.spec.keypointNames, it.keypointNames)
        }
    }

    @Test
    fun boxAndMinPoseScore() {
        val c = f.case("fig128")
        val bmp = f.bitmap(c.getString("rgb"), 128, 128)
        f.estimator(PoseEstimator.Options(minKeypointScore = 0f)).use {
            val pose = it.estimate(bmp).poses[0]
            val box = pose.box!!
            assertEquals(RectF(pose.keypoints.minOf { k -> k.x }, pose.keypoints.minOf { k -> k.y }, pose.keypoints.maxOf { k -> k.x }, pose.keypoints.maxOf { k -> k.y }), box)
        }
        val (score, pose) = f.estimator().use {
            val pose = it.estimate(bmp).poses[0]
            val visible = pose.visible(it.minKeypointScore)
            assertTrue("the trained model sees keypoints on its own kind of picture", visible.size >= 10)
            val cal = it.spec.codec.visibilityCalibration
            for (kp in pose.keypoints) {  // visibility: the calibrated map of the (double) score, within float rounding
                assertEquals(kp.name, cal.visibility(kp.score.toDouble()), kp.visibility.toDouble(), 2e-5)
            }
            assertEquals(RectF(visible.minOf { k -> k.x }, visible.minOf { k -> k.y }, visible.maxOf { k -> k.x }, visible.maxOf { k -> k.y }), pose.box)
            pose.score to pose
        }
        f.estimator(PoseEstimator.Options(minPoseScore = score - 1e-4f)).use { assertEquals(pose, it.estimate(bmp).poses.single()) }
        f.estimator(PoseEstimator.Options(minPoseScore = score + 1e-4f)).use {
            val r = it.estimate(bmp)
            assertTrue("poses below minPoseScore are dropped", r.poses.isEmpty())
            assertTrue(r.timings.inferenceMs > 0f)
        }
        f.estimator(PoseEstimator.Options(minKeypointScore = 2f)).use { assertNull("no keypoint scores 2", it.estimate(bmp).poses[0].box) }
    }

    @Test
    fun otherBitmapConfigsAreRead() {
        val c = f.case("fig128")
        val argb = f.bitmap(c.getString("rgb"), 128, 128)
        val rgb565 = argb.copy(Bitmap.Config.RGB_565, false)
        val expanded = rgb565.copy(Bitmap.Config.ARGB_8888, false) // the 565 colours, as 8888
        assertFalse("565 drops colour bits", Pixels.of(expanded).contentEquals(Pixels.of(argb)))
        f.estimator().use {
            val a = it.estimate(argb).poses[0]
            val b = it.estimate(rgb565).poses[0]
            assertEquals("an RGB_565 bitmap is read as its colours", it.estimate(expanded).poses[0], b)
            val err = a.keypoints.indices.map { j -> Math.hypot((a.keypoints[j].x - b.keypoints[j].x).toDouble(), (a.keypoints[j].y - b.keypoints[j].y).toDouble()) }
            assertTrue("RGB_565 vs ARGB_8888 keypoints: $err", err.average() < 2.0)
        }
    }

    @Test
    fun badInputsThrowDocumentedExceptionsAndLeaveTheEstimatorUsable() {
        f.estimator().use {
            val bmp = gradient(64, 48)
            val y = ByteBuffer.allocateDirect(64 * 48)
            val uv = ByteBuffer.allocateDirect(32 * 24)
            fun yuv(w: Int, h: Int, yp: ImagePlane = ImagePlane(y, w, 1), up: ImagePlane = ImagePlane(uv, w / 2, 1)) =
                YuvFrame(w, h, yp, up, up)
            val before = Triple(it.estimate(bmp), it.estimate(yuv(64, 48), 270), it.estimateNv21(ByteArray(4608) { b -> (b * 31).toByte() }, 64, 48, 180))
            val calls = ModelFixture.internals(it).pipelineCalls.get()
            fun iae(what: String, contains: String, block: () -> Unit) {
                val e = assertThrows(what, IllegalArgumentException::class.java) { block() }
                assertTrue("$what: ${e.message}", e.message!!.contains(contains))
            }
            val recycled = gradient(8, 8).also { b -> b.recycle() }
            iae("recycled", "recycled") { it.estimate(recycled) }
            iae("rotation", "rotation 45") { it.estimate(bmp, 45) }
            iae("roi outside", "outside") { it.estimate(bmp, RectF(100f, 100f, 200f, 200f)) }
            iae("roi left of frame", "outside") { it.estimate(bmp, RectF(-50f, 0f, -1f, 20f)) }
            iae("roi outside the rotated frame", "outside") { it.estimate(bmp, 90, RectF(50f, 10f, 60f, 20f)) } // upright 48 x 64
            iae("roi empty", "right must exceed left") { it.estimate(bmp, RectF(10f, 10f, 10f, 20f)) }
            iae("roi NaN", "finite") { it.estimate(bmp, RectF(Float.NaN, 0f, 10f, 10f)) }
            iae("odd yuv", "must be even") { it.estimate(yuv(63, 48), 0) }
            iae("zero-size yuv", "must be > 0") { it.estimate(yuv(0, 0), 0) }
            iae("short y plane", "plane 0") { it.estimate(yuv(64, 50), 0) }
            iae("row stride", "row stride 10") { it.estimate(yuv(64, 48, yp = ImagePlane(y, 10, 1)), 0) }
            iae("pixel stride", "pixel stride 0") { it.estimate(yuv(64, 48, up = ImagePlane(uv, 32, 0)), 0) }
            iae("chroma too short", "plane 1") { it.estimate(yuv(64, 48, up = ImagePlane(uv, 64, 2)), 0) }
            iae("nv21 short", "needs 4608") { it.estimateNv21(ByteArray(100), 64, 48, 0) }
            iae("nv21 odd", "must be even") { it.estimateNv21(ByteArray(10000), 63, 47, 0) }
            iae("nv21 rotation", "rotation -90") { it.estimateNv21(ByteArray(4608), 64, 48, -90) }
            assertEquals("no bad call reached the engine", calls, ModelFixture.internals(it).pipelineCalls.get())
            // still usable, with the same answers as before
            assertEquals(before.first.poses, it.estimate(bmp).poses)
            assertEquals(before.second.poses, it.estimate(yuv(64, 48), 270).poses)
            assertEquals(before.third.poses, it.estimateNv21(ByteArray(4608) { b -> (b * 31).toByte() }, 64, 48, 180).poses)
        }
    }

    @Test
    fun zeroSizeBitmapsCannotBeMadeAndZeroSizeFramesAreRejected() {
        // Android refuses 0 x 0 bitmaps itself; the estimator checks every size it is handed anyway.
        assertThrows(IllegalArgumentException::class.java) { Bitmap.createBitmap(0, 0, Bitmap.Config.ARGB_8888) }
        f.estimator().use { e ->
            val nv = assertThrows(IllegalArgumentException::class.java) { e.estimateNv21(ByteArray(0), 0, 2, 0) }
            assertTrue(nv.message!!, nv.message!!.contains("must be > 0"))
            val empty = ImagePlane(ByteBuffer.allocateDirect(0), 0, 1)
            val yuv = assertThrows(IllegalArgumentException::class.java) { e.estimate(YuvFrame(0, 0, empty, empty, empty), 0) }
            assertTrue(yuv.message!!, yuv.message!!.contains("must be > 0"))
            assertEquals(0, ModelFixture.internals(e).pipelineCalls.get())
        }
    }

    @Test
    fun closeIsIdempotentAndFinal() {
        val est = f.estimator(PoseEstimator.Options(threads = 1))
        assertEquals("no other estimator is alive in this JVM, so the first one sizes the pool", 1, est.threads)
        est.estimate(gradient(32, 32))
        est.close()
        est.close()
        val e = assertThrows(IllegalStateException::class.java) { est.estimate(gradient(32, 32)) }
        assertTrue(e.message!!.contains("closed"))
        assertThrows(IllegalStateException::class.java) { est.estimateNv21(ByteArray(4608), 64, 48, 0) }
        val p = ImagePlane(ByteBuffer.allocateDirect(64 * 48), 64, 1)
        assertThrows(IllegalStateException::class.java) { est.estimate(YuvFrame(64, 48, p, p, p), 0) }
        est.reset() // harmless
        // close released the native estimator: with no estimator alive, the next one resizes the process-wide pool
        f.estimator(PoseEstimator.Options(threads = 2)).use { assertEquals(2, it.threads) }
    }

    @Test
    fun threadsOptionSizesTheProcessWidePoolWhileNoEstimatorIsAlive() {
        f.estimator(PoseEstimator.Options(threads = 1)).use { first ->
            assertEquals(1, first.threads)
            f.estimator(PoseEstimator.Options(threads = 2)).use { second ->
                assertEquals("the pool is kept while an estimator is alive; threads says what is used", 1, second.threads)
                assertEquals(first.estimate(gradient(80, 60)).poses, second.estimate(gradient(80, 60)).poses)
            }
        }
        f.estimator(PoseEstimator.Options(threads = 2)).use { assertEquals(2, it.threads) }
    }

    @Test
    fun concurrentCallsAreSerialisedAndCorrect() {
        val inputs = ArrayList<(PoseEstimator) -> PoseResult>()
        for (c in f.cases.filter { it.getString("kind") == "bitmap" }) {
            val bmp = f.bitmap(c.getString("rgb"), c.getInt("width"), c.getInt("height"))
            val rotation = c.getInt("rotation")
            val roi = if (c.isNull("roi")) null else c.getJSONArray("roi").let { RectF(it.getDouble(0).toFloat(), it.getDouble(1).toFloat(), it.getDouble(2).toFloat(), it.getDouble(3).toFloat()) }
            inputs.add { est -> est.estimate(bmp, rotation, roi) }
        }
        val nv21 = ByteArray(4608) { b -> (b * 13).toByte() }
        inputs.add { est -> est.estimateNv21(nv21, 64, 48, 90) }
        assertEquals(4, inputs.size)
        f.estimator(PoseEstimator.Options(threads = 2)).use { est ->
            val serial = inputs.map { it(est).poses[0] }
            assertEquals("four different answers", 4, serial.toSet().size)
            val callsBefore = ModelFixture.internals(est).pipelineCalls.get()
            val pool = Executors.newFixedThreadPool(4)
            val start = CountDownLatch(1)
            val futures = (0 until 4).map { t ->
                pool.submit<List<Boolean>> {
                    start.await()
                    (0 until 10).map { i -> inputs[(t + i) % 4](est).poses[0] == serial[(t + i) % 4] }
                }
            }
            start.countDown()
            val ok = futures.flatMap { it.get(120, TimeUnit.SECONDS) } // rethrows what a thread threw
            pool.shutdown()
            assertEquals(40, ok.size)
            assertTrue("every concurrent result equals the serial one", ok.all { it })
            assertEquals(callsBefore + 40, ModelFixture.internals(est).pipelineCalls.get())
            assertEquals("calls never overlapped inside the engine", 1, ModelFixture.internals(est).maxPipelineCallsInFlight.get())
        }
    }

    @Test
    fun closeWhileOtherThreadsEstimate() {
        val est = f.estimator()
        val bmp = gradient(120, 90)
        val pool = Executors.newFixedThreadPool(3)
        val futures = (0 until 3).map {
            pool.submit<String> {
                try {
                    while (true) est.estimate(bmp)
                    @Suppress("UNREACHABLE_CODE") "unreachable"
                } catch (e: IllegalStateException) {
                    if (e.message!!.contains("closed")) "closed" else "unexpected $e"
                } catch (e: Throwable) {
                    "unexpected $e"
                }
            }
        }
        val deadline = System.nanoTime() + 60_000_000_000L
        while (ModelFixture.internals(est).pipelineCalls.get() < 6 && System.nanoTime() < deadline) Thread.sleep(5)
        est.close()
        val outcomes = futures.map { it.get(60, TimeUnit.SECONDS) }
        pool.shutdown()
        assertEquals(listOf("closed", "closed", "closed"), outcomes)
        assertTrue(ModelFixture.internals(est).pipelineCalls.get() >= 6)
        assertEquals(1, ModelFixture.internals(est).maxPipelineCallsInFlight.get())
    }

    /** Video mode: only frames without a caller ROI move the tracked box; bad calls and ROI frames do not. */
    @Test
    fun videoTrackingStateChangesOnlyWithTrackedFrames() {
        val video = f.doc.getJSONObject("video")
        val frames = video.getJSONArray("frames")
        val w = video.getInt("width")
        val h = video.getInt("height")
        val clip = (0 until 6).map { f.bitmap(frames.getJSONObject(it).getString("rgb"), w, h) }
        val options = PoseEstimator.Options(runningMode = RunningMode.VIDEO, tracking = TrackingOptions(boxScale = 1.4f), smoothing = null)
        val plain = f.estimator(options).use { est -> clip.mapIndexed { t, bmp -> est.estimateForVideo(bmp, 66L * t) } }
        assertNull("the first frame is searched whole", plain[0].roi)
        assertTrue("later frames use the tracked box", plain.drop(2).all { it.roi != null })
        val callerRoi = RectF(10f, 20f, 120f, 200f)
        f.estimator(options).use { est ->
            for ((t, bmp) in clip.withIndex()) {
                val r = est.estimateForVideo(bmp, 66L * t)
                assertEquals("frame $t roi", plain[t].roi, r.roi)
                assertEquals("frame $t poses", plain[t].poses, r.poses)
                val other = est.estimateForVideo(clip[(t + 3) % clip.size], 66L * t + 33, callerRoi)
                assertEquals("a caller's ROI is used as given", callerRoi, other.roi)
                assertThrows(IllegalArgumentException::class.java) { est.estimateForVideo(bmp, 66L * t + 40, RectF(500f, 500f, 600f, 600f)) }
                assertThrows(IllegalArgumentException::class.java) { est.estimateForVideo(bmp, 45, 66L * t + 41) }
            }
            est.reset()
            assertNull("reset: the next frame is searched whole", est.estimateForVideo(clip[3], 1000L).roi)
        }
        f.estimator().use {
            it.estimate(clip[0])
            assertNull("image mode: no tracking", it.estimate(clip[1]).roi)
        }
    }

    @Test
    fun executorchWithoutNativeLibraryFailsAtCreateSayingWhatIsMissing() {
        val context = RuntimeEnvironment.getApplication()
        val e = assertThrows(PoseException::class.java) {
            Estimators.create(context, Specs.executorch(), PoseEstimator.Options(), nativeAvailable = false)
        }
        assertEquals(PoseException.UNSUPPORTED, e.status)
        val m = e.message!!
        assertTrue(m, m.contains("jni/") && m.contains("/libmobilesdk_pose_jni.so"))
        assertTrue(m, m.contains("ANDROID_NDK_HOME=") && m.contains("mobilesdk build --model movepose-xs"))
        val off = assertThrows(IllegalArgumentException::class.java) {
            Estimators.create(context, Specs.executorch(), PoseEstimator.Options(nativeProcessing = PoseEstimator.NativeProcessing.OFF))
        }
        assertTrue(off.message!!.contains("TFLite models only"))
    }

    @Test
    fun nativeProcessingChoice() {
        val spec = Specs.litert()
        assertTrue(Estimators.processor(spec, PoseEstimator.NativeProcessing.AUTO, nativeAvailable = false) is KotlinProcessor)
        assertTrue(Estimators.processor(spec, PoseEstimator.NativeProcessing.OFF, nativeAvailable = true) is KotlinProcessor)
        val e = assertThrows(PoseException::class.java) {
            Estimators.processor(spec, PoseEstimator.NativeProcessing.ON, nativeAvailable = false)
        }
        assertTrue(e.message!!.contains("nativeProcessing ON"))
        f.estimator(PoseEstimator.Options(nativeProcessing = PoseEstimator.NativeProcessing.ON)).use {
            assertEquals("executorch", it.engineName)
            assertTrue("the ExecuTorch engine processes natively", it.usesNativeProcessing)
        }
    }

    @Test
    fun randomWeightsAreLoggedOnceAndExposed() {
        // The manifest says it: the trained fixture has "checkpoint" weights, the test resource "random" ones.
        assertFalse(f.spec.randomWeights)
        assertTrue(Specs.litert().randomWeights && Specs.executorch().randomWeights)
        ShadowLog.clear()
        f.estimator().use { assertFalse(it.randomWeights) }
        assertTrue(ShadowLog.getLogsForTag(Estimators.LOG_TAG).isEmpty())

        // The same program presented as a random-weights build (another model id: the log is once per model).
        val random = f.spec.copy(modelId = "random-weights-probe", randomWeights = true)
        val context = RuntimeEnvironment.getApplication()
        repeat(2) {
            offMain { PoseEstimator.create(context, random, PoseEstimator.Options(modelFile = f.pte)) }.use { est ->
                assertTrue(est.randomWeights)
                assertEquals(f.spec.numKeypoints, est.estimate(gradient(64, 48)).poses.single().keypoints.size)  // it runs
            }
        }
        val logs = ShadowLog.getLogsForTag(Estimators.LOG_TAG)
        assertEquals("one warning for two create() calls: $logs", 1, logs.size)
        assertEquals(android.util.Log.WARN, logs[0].type)
        val m = logs[0].msg
        assertTrue(m, m.contains("random-weights-probe") && m.contains("without trained weights") && m.contains("--checkpoint") && m.contains("noise"))
        assertEquals(Estimators.randomWeightsMessage(random), m)
    }

    @Test
    fun optionsAreValidated() {
        assertThrows(IllegalArgumentException::class.java) { PoseEstimator.Options(threads = -1) }
        assertThrows(IllegalArgumentException::class.java) { PoseEstimator.Options(minKeypointScore = Float.NaN) }
        assertThrows(IllegalArgumentException::class.java) { PoseEstimator.Options(minPoseScore = Float.POSITIVE_INFINITY) }
        assertThrows(IllegalArgumentException::class.java) { TrackingOptions(centerResponse = 0f) }
        assertThrows(IllegalArgumentException::class.java) { TrackingOptions(boxScale = 0.5f) }
        f.estimator().use { assertEquals("default: visibility 0.5 for every codec", 0.5f, it.minKeypointScore, 0f) }
        f.estimator(PoseEstimator.Options(minKeypointScore = 0.25f)).use { assertEquals(0.25f, it.minKeypointScore, 0f) }
    }
}
