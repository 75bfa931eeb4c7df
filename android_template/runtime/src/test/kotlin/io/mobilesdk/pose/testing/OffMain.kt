package io.mobilesdk.pose.testing

import java.util.concurrent.ExecutionException
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

/**
 * Runs [block] on a background thread and returns its result or rethrows what it threw: how an app calls
 * PoseEstimator.create, which refuses the main thread (a Robolectric test body runs on the main looper).
 */
fun <T> offMain(block: () -> T): T {
    val pool = Executors.newSingleThreadExecutor()
    try {
        return pool.submit<T> { block() }.get(300, TimeUnit.SECONDS)
    } catch (e: ExecutionException) {
        throw e.cause ?: e
    } finally {
        pool.shutdown()
    }
}
