package io.mobilesdk.pose

import android.graphics.Bitmap
import io.mobilesdk.pose.internal.DefaultPoseEstimator
import io.mobilesdk.pose.internal.ExecuTorchPipeline
import io.mobilesdk.pose.internal.ModelFiles
import io.mobilesdk.pose.testing.GatedPipeline
import io.mobilesdk.pose.testing.ModelFixture
import io.mobilesdk.pose.testing.offMain
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.GraphicsMode

/** Threads and lifecycle on the real ExecuTorch engine: create off the main thread, close without waiting, hash once. */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class LifecycleTest {
    private val f by lazy { ModelFixture.load() }

    private fun picture(): Bitmap = f.case("fig128").let { f.bitmap(it.getString("rgb"), 128, 128) }

    @Test
    fun createRefusesTheMainThread() {
        val context = RuntimeEnvironment.getApplication()
        val options = PoseEstimator.Options(modelFile = f.pte)
        val e = assertThrows(IllegalStateException::class.java) { PoseEstimator.create(context, f.spec, options) }
        assertTrue(e.message!!, e.message!!.startsWith("PoseEstimator.create was called on the main thread"))
        offMain { PoseEstimator.create(context, f.spec, options) }.use { assertEquals(17, it.estimate(picture()).poses[0].keypoints.size) }
    }

    /** close() from the main thread while another thread's frame is inside the engine. */
    @Test
    fun closeDuringAnInferenceReturnsAtOnceAndTheInferenceFreesTheEngine() {
        val engine = GatedPipeline(ExecuTorchPipeline(f.pte.absolutePath, f.spec, 0))
        val est = DefaultPoseEstimator(f.spec, PoseEstimator.Options(), engine)
        val pool = Executors.newSingleThreadExecutor { r -> Thread(r, "app-worker") }
        val bmp = picture()
        val running = pool.submit<PoseResult> { est.estimate(bmp) }
        engine.awaitEntered()
        est.close() // the gate is shut: a close that waited for the inference would never return
        assertEquals("the running inference still owns the engine", 1L, engine.freed.count)
        val e = assertThrows(IllegalStateException::class.java) { est.estimate(bmp) }
        assertEquals("this PoseEstimator is closed", e.message)
        est.close() // idempotent
        engine.open()
        val result = running.get(120, TimeUnit.SECONDS)
        assertEquals("the running frame completes", 17, result.poses.single().keypoints.size)
        engine.awaitFreed()
        assertEquals("freed on the inference's thread", "app-worker", engine.closeThread!!.name)
        pool.shutdown()
        // Idle: close frees at once, on the caller's thread.
        val idle = GatedPipeline(ExecuTorchPipeline(f.pte.absolutePath, f.spec, 0))
        DefaultPoseEstimator(f.spec, PoseEstimator.Options(), idle).close()
        assertEquals(0L, idle.freed.count)
        assertEquals(Thread.currentThread(), idle.closeThread)
    }

    @Test
    fun theModelFileIsHashedOncePerInstalledVersion() {
        f.estimator().close() // this file's record exists from here on (maybe from an earlier test)
        val before = ModelFiles.hashes.get()
        f.estimator().use { it.estimate(picture()) }
        f.estimator().close()
        assertEquals("a verified, unchanged model file is not hashed again", before, ModelFiles.hashes.get())
    }
}
