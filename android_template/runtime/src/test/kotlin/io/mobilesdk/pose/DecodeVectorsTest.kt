package io.mobilesdk.pose

import io.mobilesdk.pose.internal.DecodedPose
import io.mobilesdk.pose.internal.Geometry
import io.mobilesdk.pose.internal.KeypointDecoder
import io.mobilesdk.pose.internal.NativeCore
import io.mobilesdk.pose.internal.directBuffer
import io.mobilesdk.pose.testing.TestInputs
import io.mobilesdk.pose.testing.TestManifests
import io.mobilesdk.pose.testing.Vectors
import java.nio.ByteBuffer
import org.json.JSONArray
import org.json.JSONObject
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.GraphicsMode

/** Raw outputs -> keypoints: Kotlin decoders and the native core against mobilesdk/codecs (shared vectors). */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class DecodeVectorsTest {
    private class Case(val v: Vectors, val doc: JSONObject) {
        val name: String = doc.getString("name")
        val codec: JSONObject = doc.getJSONObject("codec")
        val size: JSONObject = doc.getJSONObject("input_size")
        val k = doc.getInt("num_keypoints")
        val outputNames: List<String> = doc.getJSONObject("outputs").keys().asSequence().toList()
        val shapes = outputNames.map { v.shape(doc.getJSONObject("outputs").getJSONObject(it)).toList() }
        val outputs = outputNames.map { v.float32(doc.getJSONObject("outputs").getJSONObject(it)) }.toTypedArray()
        val n = shapes[0][0]
        val expected: JSONObject = doc.getJSONObject("expected")
        val xy = v.float64(expected.getJSONObject("xy"))
        val scores = v.float64(expected.getJSONObject("scores"))
        val visibility = v.float64(expected.getJSONObject("visibility"))
        val z = if (expected.isNull("z")) null else v.float64(expected.getJSONObject("z"))
        val frameXy = v.float64(expected.getJSONObject("frame_xy"))
        val affine = doc.getJSONArray("affine").let { a -> DoubleArray(6) { a.getDouble(it) } }
        val specs = outputNames.mapIndexed { i, nm -> OutputSpec(nm, shapes[i], "float32", nm) }

        /** The case's codec as a manifest gives it (with codec.visibility when the case has one). */
        val codecSpec = CodecSpec(codec.getString("name"), ModelSpec.toMap(codec.getJSONObject("params")), ModelSpec.visibility(codec))

        fun decoder() = KeypointDecoder.create(codecSpec, size.getInt("width"), size.getInt("height"), k, specs)
    }

    private fun cases(): List<Case> {
        val v = Vectors.load()
        return v.cases("decode").map { Case(v, it) }.also { assertTrue("no decode vectors", it.size >= 10) }
    }

    private fun close(a: Double, b: Double, tol: Double) = Math.abs(a - b) <= tol * maxOf(1.0, Math.abs(b))

    @Test
    fun kotlinMatchesReference() {
        val failures = mutableListOf<String>()
        val inverse = DoubleArray(6)
        var checked = 0
        for (c in cases()) {
            val dec = c.decoder()
            Geometry.invert(c.affine, inverse)
            val d = DecodedPose(c.k)
            for (i in 0 until c.n) {
                dec.decode(c.outputs, i, d)
                d.fillVisibility(c.codecSpec.visibilityCalibration)
                for (j in 0 until c.k) {
                    val o = i * c.k + j
                    val where = "${c.name}[$i][$j]"
                    if (!close(d.x[j], c.xy[2 * o], 1e-3 / maxOf(1.0, Math.abs(c.xy[2 * o]))) || !close(d.y[j], c.xy[2 * o + 1], 1e-3 / maxOf(1.0, Math.abs(c.xy[2 * o + 1])))) {
                        failures += "$where xy (${d.x[j]}, ${d.y[j]}) != (${c.xy[2 * o]}, ${c.xy[2 * o + 1]})"
                    }
                    if (!close(d.score[j], c.scores[o], 1e-5)) failures += "$where score ${d.score[j]} != ${c.scores[o]}"
                    if (Math.abs(d.visibility[j] - c.visibility[o]) > 1e-5) failures += "$where visibility ${d.visibility[j]} != ${c.visibility[o]}"
                    if (c.z != null && !close(d.z[j], c.z[o], 1e-4)) failures += "$where z ${d.z[j]} != ${c.z[o]}"
                    if (c.z == null && !d.z[j].isNaN()) failures += "$where z should be NaN for a 2-D codec"
                    // map back through A^-1, as PoseEstimator does
                    val x = d.x[j].toFloat().toDouble()
                    val y = d.y[j].toFloat().toDouble()
                    val fx = inverse[0] * x + inverse[1] * y + inverse[2]
                    val fy = inverse[3] * x + inverse[4] * y + inverse[5]
                    if (Math.abs(fx - c.frameXy[2 * o]) > 1e-3 || Math.abs(fy - c.frameXy[2 * o + 1]) > 1e-3) {
                        failures += "$where frame xy ($fx, $fy) != (${c.frameXy[2 * o]}, ${c.frameXy[2 * o + 1]})"
                    }
                    checked++
                }
            }
        }
        assertTrue(failures.take(20).joinToString("\n"), failures.isEmpty())
        assertTrue(checked > 400)
    }

    /** The same outputs through NativeCore.nativeDecode (a processor from a manifest with the case's codec). */
    @Test
    fun nativeMatchesReference() {
        TestInputs.nativeLibrary()
        val failures = mutableListOf<String>()
        for (c in cases()) {
            val w = c.size.getInt("width")
            val h = c.size.getInt("height")
            val outs = JSONArray()
            c.outputNames.forEachIndexed { i, nm -> outs.put(TestManifests.output(nm, listOf(1) + c.shapes[i].drop(1))) }
            val manifest = TestManifests.build(TestManifests.input(w, h), c.codec, c.k, outs)
            val handle = NativeCore.nativeCreateProcessor(manifest, null)
            try {
                val res = FloatArray(NativeCore.resultSize(c.k))
                val affine = FloatArray(6) { c.affine[it].toFloat() }
                for (i in 0 until c.n) {
                    val bufs = Array<ByteBuffer>(c.outputs.size) { o ->
                        val per = c.outputs[o].size / c.n
                        directBuffer(4 * per).also { it.asFloatBuffer().put(c.outputs[o], i * per, per) }
                    }
                    NativeCore.nativeDecode(handle, bufs, affine, res)
                    for (j in 0 until c.k) {
                        val o = i * c.k + j
                        val where = "native ${c.name}[$i][$j]"
                        // the float affine moves frame coordinates by up to ~1e-6 relative
                        if (Math.abs(res[4 * j] - c.frameXy[2 * o]) > 1e-3 || Math.abs(res[4 * j + 1] - c.frameXy[2 * o + 1]) > 1e-3) {
                            failures += "$where frame xy (${res[4 * j]}, ${res[4 * j + 1]}) != (${c.frameXy[2 * o]}, ${c.frameXy[2 * o + 1]})"
                        }
                        if (!close(res[4 * j + 3].toDouble(), c.scores[o], 1e-5)) failures += "$where score ${res[4 * j + 3]} != ${c.scores[o]}"
                        val vis = res[NativeCore.visibilityIndex(c.k, j)].toDouble()
                        if (Math.abs(vis - c.visibility[o]) > 1e-5) failures += "$where visibility $vis != ${c.visibility[o]}"
                        if (c.z != null && !close(res[4 * j + 2].toDouble(), c.z[o], 1e-4)) failures += "$where z ${res[4 * j + 2]} != ${c.z[o]}"
                    }
                }
            } finally {
                NativeCore.nativeDestroyProcessor(handle)
            }
        }
        assertTrue(failures.take(20).joinToString("\n"), failures.isEmpty())
    }
}
