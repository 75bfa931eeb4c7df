package io.mobilesdk.pose.testing

import io.mobilesdk.pose.internal.Frame
import io.mobilesdk.pose.internal.Pipeline
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Semaphore
import java.util.concurrent.TimeUnit
import org.junit.Assert.assertTrue

/**
 * A real pipeline whose frames wait at a gate the test opens: concurrency tests decide when an inference
 * is "in flight" and when it ends with latches, not sleeps. Each run() signals [entered], waits for one
 * [open], then runs [inner] (or throws [failNext] once). [freed] counts down when close() has freed [inner].
 */
internal class GatedPipeline(private val inner: Pipeline) : Pipeline by inner {
    private val entered = Semaphore(0)
    private val gate = Semaphore(0)
    val freed = CountDownLatch(1)

    @Volatile
    var failNext: RuntimeException? = null

    @Volatile
    var closeThread: Thread? = null
        private set

    override fun run(frame: Frame, roi: FloatArray?, out: FloatArray) {
        entered.release()
        check(gate.tryAcquire(120, TimeUnit.SECONDS)) { "the test never opened the gate" }
        failNext?.let {
            failNext = null
            throw it
        }
        inner.run(frame, roi, out)
    }

    /** Waits until a frame is inside run() (at the gate). */
    fun awaitEntered() = assertTrue("no frame reached the engine", entered.tryAcquire(120, TimeUnit.SECONDS))

    /** Lets one waiting (or the next) frame through. */
    fun open() = gate.release()

    override fun close() {
        closeThread = Thread.currentThread()
        inner.close()
        freed.countDown()
    }

    fun awaitFreed() = assertTrue("the engine was not freed", freed.await(120, TimeUnit.SECONDS))
}
