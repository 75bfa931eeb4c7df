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

    /**
     * An app's model file in its private storage (e.g. downloaded there) is hashed by the first create only;
     * one in shared storage (the fixture's folder) at every create, since others could replace it.
     */
    @Test
    fun theModelFileIsHashedOncePerInstalledVersion() {
        val context = RuntimeEnvironment.getApplication()
        val private = java.io.File(context.filesDir, "models/${f.pte.name}").also { it.parentFile!!.mkdirs(); f.pte.copyTo(it, overwrite = true) }
        val options = PoseEstimator.Options(modelFile = private)
        fun create(o: PoseEstimator.Options) = offMain { PoseEstimator.create(context, f.spec, o) }
        fun hashes(block: () -> Unit): Int = ModelFiles.hashes.get().let { before -> block(); ModelFiles.hashes.get() - before }
        assertEquals("the first create checks the hash", 1, hashes { create(options).close() })
        assertEquals("later creates do not hash again", 0, hashes { create(options).use { it.estimate(picture()) } })
        assertEquals(0, hashes { create(options).close() })
        assertEquals("a file outside the app's storage is hashed every time", 1, hashes { f.estimator().close() })
        assertEquals(1, hashes { f.estimator().close() })
        private.writeBytes(private.readBytes().also { it[it.size / 2] = (it[it.size / 2] + 1).toByte() })
        private.setLastModified(private.lastModified() + 5_000)
        val e = assertThrows(PoseException::class.java) { create(options) }
        assertEquals("a changed file is hashed again and refused", PoseException.INVALID_MODEL, e.status)
        private.delete()
    }
}
