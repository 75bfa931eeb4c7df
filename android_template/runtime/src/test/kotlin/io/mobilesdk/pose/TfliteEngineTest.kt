package io.mobilesdk.pose

import io.mobilesdk.pose.internal.Estimators
import io.mobilesdk.pose.internal.ProcessorPipeline
import io.mobilesdk.pose.internal.TfliteRunner
import io.mobilesdk.pose.testing.Specs
import io.mobilesdk.pose.testing.offMain
import java.nio.ByteOrder
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.GraphicsMode

/**
 * The TFLite engine up to the Interpreter call: options, the input/output buffers from a real LiteRT manifest
 * (`mobilesdk build --model movepose-xs --backend all`), and the documented failure when the TFLite runtime
 * cannot load (it cannot on a host JVM: libtensorflowlite_jni.so is built for Android's libc). What feeds the
 * Interpreter is tested with real data elsewhere: both processors against the shared vectors
 * (PreprocessVectorsTest, DecodeVectorsTest) and on the real program's input and raw outputs
 * (EndToEndTest.nativeAndKotlinProcessingAgreeOnABitmap); the estimator around any engine (argument checks,
 * ROI and rotation mapping, close, threads, options, tracking) on the real ExecuTorch engine (EstimatorApiTest).
 *
 * Not tested here, because it can only be shown by running an Interpreter or a stand-in for one (and this
 * project allows no test double outside the phone boundary): TfliteRunner's signature and tensor checks
 * against a loaded .tflite, Interpreter.runSignature and its error mapping, and the TFLite engine's
 * estimate() end to end. The .tflite files' numerics are checked on the host in Python (tests/export).
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class TfliteEngineTest {
    @get:Rule
    val tmp = TemporaryFolder()

    @Test
    fun interpreterOptions() {
        val o = TfliteRunner.options(3, true)
        assertEquals(3, o.numThreads)
        assertTrue(o.useXNNPACK)
        assertEquals(false, TfliteRunner.options(1, false).useXNNPACK)
    }

    @Test
    fun buffersFollowTheManifest() {
        val spec = Specs.litert()
        val input = ProcessorPipeline.inputBuffer(spec)
        assertEquals(256 * 256 * 3 * 4, input.capacity())
        assertTrue(input.isDirect)
        assertEquals(ByteOrder.nativeOrder(), input.order())
        val outputs = ProcessorPipeline.outputBuffers(spec)
        assertEquals(listOf(17 * 512 * 4, 17 * 512 * 4), outputs.map { it.capacity() })
        assertTrue(outputs.all { it.isDirect && it.order() == ByteOrder.nativeOrder() })
        val u8 = spec.copy(input = spec.input.copy(dtype = InputSpec.DType.UINT8))
        assertEquals(256 * 256 * 3, ProcessorPipeline.inputBuffer(u8).capacity())
    }

    @Test
    fun createReachesTheInterpreterAndFailsCleanlyWithoutTheTfliteRuntime() {
        val model = tmp.newFile("m.tflite").also { it.writeBytes(ByteArray(64) { 1 }) }
        val spec = Specs.litert().copy(sha256 = null)
        val e = assertThrows(PoseException::class.java) {
            offMain { PoseEstimator.create(RuntimeEnvironment.getApplication(), spec, PoseEstimator.Options(modelFile = model, threads = 2)) }
        }
        assertEquals(PoseException.UNSUPPORTED, e.status)
        assertTrue(e.message!!, e.message!!.contains("TFLite runtime did not load") && e.message!!.contains("org.tensorflow:tensorflow-lite"))
        assertTrue(e.cause is LinkageError)
        // Without modelFile: the asset is looked up (and is absent in this test app).
        val a = assertThrows(PoseException::class.java) {
            Estimators.create(RuntimeEnvironment.getApplication(), spec, PoseEstimator.Options(), nativeAvailable = false)
        }
        assertEquals(PoseException.IO, a.status)
        assertTrue(a.message!!, a.message!!.contains("movepose-xs.litert-fp32.tflite"))
    }
}
