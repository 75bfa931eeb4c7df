package io.mobilesdk.pose

import io.mobilesdk.pose.internal.Frame
import io.mobilesdk.pose.internal.KotlinPreprocessor
import io.mobilesdk.pose.internal.KotlinProcessor
import io.mobilesdk.pose.internal.NativeCore
import io.mobilesdk.pose.internal.directBuffer
import io.mobilesdk.pose.testing.TestInputs
import io.mobilesdk.pose.testing.TestManifests
import java.io.File
import java.nio.ByteBuffer
import java.util.Random
import org.json.JSONArray
import org.json.JSONObject
import org.junit.Assume
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.GraphicsMode

/**
 * Host-JVM timings of Kotlin vs native pre/post (median thread CPU time of repeated calls after warm-up; the
 * preprocessing cases time Kotlin and native alternately in the same loop). Runs with
 * -Dmobilesdk.bench=true; prints the figures and writes them as JSON to -Dmobilesdk.bench.out. It asserts
 * nothing about speed (timed tests are flaky on shared machines), only that both paths ran.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class BenchmarkTest {
    private val rows = JSONArray()

    private val cpu = java.lang.management.ManagementFactory.getThreadMXBean()

    private fun median(reps: Int, block: () -> Unit): Double = medians(reps, block, null).first

    /**
     * Median CPU milliseconds of this thread (native code included) per call of [a] and of [b], timed
     * alternately (a, b, a, b, ...) after a warm-up, so both see the same machine load; CPU time rather than
     * wall time, so other processes on a shared machine weigh less.
     */
    private fun medians(reps: Int, a: () -> Unit, b: (() -> Unit)?): Pair<Double, Double> {
        repeat(maxOf(10, reps / 2)) { a(); b?.invoke() } // let the JIT compile the loops first
        val ta = DoubleArray(reps)
        val tb = DoubleArray(reps)
        for (i in 0 until reps) {
            var t0 = cpu.currentThreadCpuTime
            a()
            ta[i] = (cpu.currentThreadCpuTime - t0) / 1e6
            if (b != null) {
                t0 = cpu.currentThreadCpuTime
                b()
                tb[i] = (cpu.currentThreadCpuTime - t0) / 1e6
            }
        }
        ta.sort()
        tb.sort()
        return ta[reps / 2] to tb[reps / 2]
    }

    private fun spec(manifest: String): ModelSpec = ModelSpec.fromManifest(manifest)

    private fun decodeCase(name: String, codec: JSONObject, k: Int, w: Int, h: Int, shapes: List<Pair<String, List<Int>>>, reps: Int, fill: (Random, FloatArray) -> Unit) {
        val outs = JSONArray()
        for ((role, shape) in shapes) outs.put(TestManifests.output(role, shape))
        val manifest = TestManifests.build(TestManifests.input(w, h), codec, k, outs)
        val s = spec(manifest)
        val rnd = Random(1)
        val buffers = Array<ByteBuffer>(shapes.size) { i ->
            val n = s.outputs[i].count
            val a = FloatArray(n).also { fill(rnd, it) }
            directBuffer(4 * n).also { it.asFloatBuffer().put(a) }
        }
        val affine = floatArrayOf(1f, 0f, 0f, 0f, 1f, 0f)
        val out = FloatArray(NativeCore.resultSize(k))
        val kotlin = KotlinProcessor(s)
        val kt = median(reps) { kotlin.decode(buffers, affine, out) }
        val handle = NativeCore.nativeCreateProcessor(manifest, null)
        val nat = try {
            median(reps) { NativeCore.nativeDecode(handle, buffers, affine, out) }
        } finally {
            NativeCore.nativeDestroyProcessor(handle)
        }
        record(name, kt, nat)
    }

    private fun record(name: String, kotlinMs: Double, nativeMs: Double) {
        rows.put(JSONObject().put("case", name).put("kotlin_ms", kotlinMs).put("native_ms", nativeMs))
        println(String.format("BENCH %-48s kotlin %9.3f ms   native %9.3f ms   (kotlin/native %.2fx)", name, kotlinMs, nativeMs, kotlinMs / nativeMs))
    }

    private fun peaks(bins: Int): (Random, FloatArray) -> Unit = { r, a ->
        for (i in a.indices) a[i] = (r.nextGaussian() * 0.5).toFloat()
        var i = 0
        while (i < a.size) {
            val c = r.nextInt(bins)
            for (b in 0 until bins) a[i + b] += (8.0 * Math.exp(-(b - c) * (b - c) / 50.0)).toFloat()
            i += bins
        }
    }

    @Test
    fun decodeAndPreprocessTimings() {
        Assume.assumeTrue("-Dmobilesdk.bench=true runs the timings", TestInputs.bench)
        TestInputs.nativeLibrary()
        val simcc = JSONObject().put("name", "simcc").put("params", JSONObject().put("split_ratio", 2.0))
        decodeCase("simcc 17x512 x2 (movepose 256)", simcc, 17, 256, 256,
            listOf("simcc_x" to listOf(1, 17, 512), "simcc_y" to listOf(1, 17, 512)), 300, peaks(512))
        val dark = JSONObject().put("name", "heatmap").put("params", JSONObject()
            .put("heatmap_size", JSONObject().put("width", 48).put("height", 64)).put("refine", "dark").put("blur_kernel", 11))
        decodeCase("heatmap DARK 17x64x48, blur 11 (256x192)", dark, 17, 192, 256,
            listOf("heatmaps" to listOf(1, 17, 64, 48)), 200) { r, a ->
            for (i in a.indices) a[i] = (r.nextGaussian() * 0.02).toFloat()
            for (k in 0 until 17) {
                val cx = 5 + r.nextInt(38)
                val cy = 5 + r.nextInt(54)
                for (y in 0 until 64) for (x in 0 until 48) a[k * 3072 + y * 48 + x] += Math.exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 8.0).toFloat()
            }
        }
        val i3d = JSONObject().put("name", "integral-3d").put("params", JSONObject()
            .put("depth_bins", 64).put("heatmap_size", JSONObject().put("width", 64).put("height", 64)))
        decodeCase("integral-3d 18x64x64x64 (MobileHumanPose-L)", i3d, 18, 256, 256,
            listOf("volumetric" to listOf(1, 18 * 64, 64, 64)), 7) { r, a -> for (i in a.indices) a[i] = (r.nextGaussian() * 3).toFloat() }

        // Preprocessing: 1920x1080 frames -> 256x256 NCHW float32 (affine crop of the whole frame).
        val input = TestManifests.input(256, 256)
        val (codec, outs) = TestManifests.simccFor(input)
        val manifest = TestManifests.build(input, codec, 17, outs)
        val s = spec(manifest)
        val w = 1920
        val h = 1080
        val rnd = Random(2)
        val px = IntArray(w * h) { rnd.nextInt() or (0xFF shl 24) }
        val nv = ByteArray(w * h * 3 / 2).also { rnd.nextBytes(it) }
        val yuvDirect = ByteBuffer.allocateDirect(nv.size).put(nv).also { it.clear() }
        val pre = KotlinPreprocessor(s.input)
        val dst = directBuffer(s.input.bytes)
        val affine = FloatArray(6)
        val roi = floatArrayOf(700f, 200f, 1100f, 1000f)
        val handle = NativeCore.nativeCreateProcessor(manifest, null)
        try {
            val (ktPx, natPx) = medians(30, { pre.run(Frame.Pixels(px, w, h, w, 90), null, dst, affine) },
                { NativeCore.nativePreprocessPixels(handle, px, w, h, w, 90, null, dst, affine) })
            record("preprocess ARGB 1920x1080 rot90 -> 256x256 NCHW", ktPx, natPx)
            val (ktRoi, natRoi) = medians(30, { pre.run(Frame.Pixels(px, w, h, w, 0), roi, dst, affine) },
                { NativeCore.nativePreprocessPixels(handle, px, w, h, w, 0, roi, dst, affine) })
            record("preprocess ARGB 1920x1080 ROI 400x800 -> 256x256", ktRoi, natRoi)
            val y = slice(yuvDirect, 0, w * h)
            val vu = slice(yuvDirect, w * h, w * h / 2)
            val nativeNv21 = { NativeCore.nativePreprocess(handle, NativeCore.FORMAT_NV21, w, h, 90, y, w, 1, vu, w, 2, null, 0, 0, null, dst, affine) }
            // The Kotlin path on the same NV21 bytes: a direct buffer (camera planes) and a heap array (estimateNv21).
            val kFrame = Frame.Yuv(w, h, 90, arrayOf(yuvDirect, yuvDirect, yuvDirect), intArrayOf(0, w * h + 1, w * h), intArrayOf(w, w, w), intArrayOf(1, 2, 2))
            val (ktYuv, natYuv) = medians(40, { pre.run(kFrame, null, dst, affine) }, nativeNv21)
            record("preprocess NV21 1920x1080 rot90 -> 256x256 NCHW", ktYuv, natYuv)
            val hFrame = Frame.nv21(nv, w, h, 90)
            val (ktHeap, natHeap) = medians(40, { pre.run(hFrame, null, dst, affine) }, nativeNv21)
            record("preprocess NV21 byte[] 1920x1080 rot90 -> 256x256", ktHeap, natHeap)
        } finally {
            NativeCore.nativeDestroyProcessor(handle)
        }
        System.getProperty("mobilesdk.bench.out")?.takeIf { it.isNotBlank() }?.let { File(it).writeText(rows.toString(1)) }
    }

    private fun slice(b: ByteBuffer, off: Int, len: Int): ByteBuffer {
        val d = b.duplicate()
        d.position(off).limit(off + len)
        return d.slice()
    }
}
