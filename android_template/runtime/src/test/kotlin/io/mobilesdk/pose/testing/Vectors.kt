package io.mobilesdk.pose.testing

import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder
import org.json.JSONArray
import org.json.JSONObject
import org.junit.Assume

/** Test inputs given by system properties (tests/android sets them all; a missing one skips the test). */
object TestInputs {
    fun dir(property: String): File {
        val v = System.getProperty(property)?.trim().orEmpty()
        Assume.assumeTrue("system property $property is not set", v.isNotEmpty())
        val f = File(v)
        check(f.isDirectory) { "$property=$v is not a folder" }
        return f
    }

    fun nativeLibrary() {
        val v = System.getProperty("mobilesdk.native.lib")?.trim().orEmpty()
        Assume.assumeTrue("system property mobilesdk.native.lib is not set", v.isNotEmpty())
        val err = io.mobilesdk.pose.internal.NativeLibrary.loadError
        check(err == null) { "mobilesdk.native.lib=$v did not load: $err" }
    }

    val bench: Boolean get() = System.getProperty("mobilesdk.bench") == "true"
}

/** The shared vectors of mobilesdk/vectors.py: index.json + raw little-endian arrays. */
class Vectors(val root: File) {
    val index = JSONObject(File(root, "index.json").readText())
    val cases: List<JSONObject> = index.getJSONArray("cases").let { a -> (0 until a.length()).map { a.getJSONObject(it) } }

    fun cases(kind: String) = cases.filter { it.getString("kind") == kind }

    fun bytes(ref: JSONObject): ByteBuffer =
        ByteBuffer.wrap(File(root, ref.getString("file")).readBytes()).order(ByteOrder.LITTLE_ENDIAN)

    fun shape(ref: JSONObject): IntArray = ref.getJSONArray("shape").let { s -> IntArray(s.length()) { s.getInt(it) } }

    fun uint8(ref: JSONObject): ByteArray {
        check(ref.getString("dtype") == "uint8")
        return File(root, ref.getString("file")).readBytes()
    }

    fun float32(ref: JSONObject): FloatArray {
        check(ref.getString("dtype") == "float32")
        val b = bytes(ref).asFloatBuffer()
        return FloatArray(b.remaining()).also { b.get(it) }
    }

    fun float64(ref: JSONObject): DoubleArray {
        check(ref.getString("dtype") == "float64")
        val b = bytes(ref).asDoubleBuffer()
        return DoubleArray(b.remaining()).also { b.get(it) }
    }

    companion object {
        fun load(): Vectors = Vectors(TestInputs.dir("mobilesdk.vectors"))
    }
}

/** Manifests for the native core built around a vector case's input entry / codec (one artifact). */
object TestManifests {
    fun build(input: JSONObject, codec: JSONObject, numKeypoints: Int, outputs: JSONArray, recipe: String = "test"): String {
        val names = JSONArray((0 until numKeypoints).map { "kp$it" })
        val doc = JSONObject()
            .put("schema", "mobilesdk-manifest")
            .put("schema_version", 1)
            .put("model", JSONObject().put("id", "vector-model"))
            .put("codec", codec)
            .put("keypoints", JSONObject().put("names", names).put("skeleton", JSONArray()).put("flip_pairs", JSONArray()))
            .put(
                "artifacts",
                JSONArray().put(
                    JSONObject().put("recipe", recipe).put("runtime", "litert").put("precision", "fp32")
                        .put("file", "vector-model.tflite").put("input", input).put("outputs", outputs),
                ),
            )
        return doc.toString()
    }

    /** A SimCC head matching [input]'s size (split 2), for preprocessing-only manifests. */
    fun simccFor(input: JSONObject, numKeypoints: Int = 17): Pair<JSONObject, JSONArray> {
        val size = input.getJSONObject("size")
        val codec = JSONObject().put("name", "simcc").put("params", JSONObject().put("split_ratio", 2.0))
        val outs = JSONArray()
            .put(output("simcc_x", listOf(1, numKeypoints, 2 * size.getInt("width"))))
            .put(output("simcc_y", listOf(1, numKeypoints, 2 * size.getInt("height"))))
        return codec to outs
    }

    fun output(role: String, shape: List<Int>): JSONObject =
        JSONObject().put("name", role).put("shape", JSONArray(shape)).put("dtype", "float32").put("role", role)

    /** A full input entry ("app" float32 or "in-graph" uint8) of a given size. */
    fun input(width: Int, height: Int, layout: String = "NCHW", dtype: String = "float32", resize: String = "affine"): JSONObject =
        JSONObject().put("name", "image")
            .put("shape", JSONArray(if (layout == "NCHW") listOf(1, 3, height, width) else listOf(1, height, width, 3)))
            .put("layout", layout).put("dtype", dtype).put("color", "rgb")
            .put("mean", JSONArray(listOf(123.675, 116.28, 103.53))).put("std", JSONArray(listOf(58.395, 57.12, 57.375)))
            .put("normalization", if (dtype == "float32") "app" else "in-graph")
            .put("size", JSONObject().put("width", width).put("height", height)).put("resize", resize)
}
