package io.mobilesdk.pose.internal

import io.mobilesdk.pose.InputSpec
import io.mobilesdk.pose.ModelSpec
import io.mobilesdk.pose.PoseException
import java.nio.ByteBuffer
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter

/**
 * The TFLite engine on `org.tensorflow.lite.Interpreter` (XNNPACK on by default, [threads] CPU threads).
 *
 * The `.tflite` files of mobilesdk have one signature, `serving_default`, with input `args_0` and outputs
 * `output_0 ..` in the PyTorch return order, which is the manifest's output order (mobilesdk/export/
 * litert.py). Inputs and outputs are bound by those signature names and checked against the manifest's
 * shapes and dtypes when the interpreter is created; buffers are direct and in native order (the
 * Interpreter copies from/into them without conversion).
 */
internal class TfliteRunner(model: ByteBuffer, private val spec: ModelSpec, override val threads: Int, useXnnpack: Boolean) :
    InferenceRunner {
    private val interpreter: Interpreter = create(model, options(threads, useXnnpack))
    private val inputKey: String
    private val outputKeys: List<String>
    private val inputs = HashMap<String, Any>(2)
    private val outputMap = LinkedHashMap<String, Any>()
    private val signature: String

    init {
        try {
            val sig = interpreter.signatureKeys.firstOrNull { it == SIGNATURE } ?: interpreter.signatureKeys.firstOrNull()
                ?: throw PoseException(PoseException.MISMATCH, "the .tflite has no signature; mobilesdk models have '$SIGNATURE'")
            val ins = interpreter.getSignatureInputs(sig)
            if (ins.size != 1) throw PoseException(PoseException.MISMATCH, "the .tflite signature '$sig' has ${ins.size} inputs, expected 1")
            inputKey = ins[0]
            val outs = interpreter.getSignatureOutputs(sig).toSet()
            outputKeys = spec.outputs.indices.map { i ->
                "output_$i".also { if (it !in outs) throw PoseException(PoseException.MISMATCH, "the .tflite signature has no output '$it' (has $outs)") }
            }
            checkTensor(interpreter.getInputTensorFromSignature(inputKey, sig).shape(), interpreter.getInputTensorFromSignature(inputKey, sig).dataType(),
                spec.input.shape, if (spec.input.dtype == InputSpec.DType.UINT8) DataType.UINT8 else DataType.FLOAT32, "input '${spec.input.name}'")
            for ((i, key) in outputKeys.withIndex()) {
                val t = interpreter.getOutputTensorFromSignature(key, sig)
                checkTensor(t.shape(), t.dataType(), spec.outputs[i].shape, DataType.FLOAT32, "output '${spec.outputs[i].name}'")
            }
            signature = sig
        } catch (e: Throwable) {
            interpreter.close()
            throw e
        }
    }

    override fun run(input: ByteBuffer, outputs: Array<ByteBuffer>) {
        inputs[inputKey] = input
        for (i in outputs.indices) outputMap[outputKeys[i]] = outputs[i]
        try {
            interpreter.runSignature(inputs, outputMap, signature)
        } catch (e: IllegalArgumentException) {
            throw PoseException(PoseException.INFERENCE, "TFLite inference failed: ${e.message}", e)
        } catch (e: IllegalStateException) {
            throw PoseException(PoseException.INFERENCE, "TFLite inference failed: ${e.message}", e)
        }
    }

    override fun close() = interpreter.close()

    private fun checkTensor(shape: IntArray, type: DataType, want: List<Int>, wantType: DataType, what: String) {
        if (shape.toList() != want || type != wantType) {
            throw PoseException(
                PoseException.MISMATCH,
                "the .tflite $what is $type${shape.toList()} but the manifest says $wantType$want",
            )
        }
    }

    companion object {
        const val SIGNATURE = "serving_default"

        /** Interpreter options: [threads] CPU threads, XNNPACK as asked (testable without a TFLite runtime). */
        fun options(threads: Int, useXnnpack: Boolean): Interpreter.Options =
            Interpreter.Options().setNumThreads(threads).setUseXNNPACK(useXnnpack)

        private fun create(model: ByteBuffer, options: Interpreter.Options): Interpreter = try {
            Interpreter(model, options)
        } catch (e: LinkageError) {
            // UnsatisfiedLinkError / ExceptionInInitializerError from TensorFlowLite.init(): the runtime's
            // libtensorflowlite_jni.so is missing, e.g. on a host JVM (it is built for Android's libc).
            throw PoseException(
                PoseException.UNSUPPORTED,
                "the TFLite runtime did not load (${e.message}); on Android it comes with the dependency " +
                    "org.tensorflow:tensorflow-lite that the AAR's POM declares",
                e,
            )
        } catch (e: IllegalArgumentException) {
            throw PoseException(PoseException.INVALID_MODEL, "TFLite cannot load the model: ${e.message}", e)
        }
    }
}
