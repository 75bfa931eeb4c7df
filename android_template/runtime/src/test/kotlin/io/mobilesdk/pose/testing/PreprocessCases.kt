package io.mobilesdk.pose.testing

import io.mobilesdk.pose.InputSpec
import org.json.JSONObject
import org.junit.Assert.assertTrue

/** One shared preprocess vector (mobilesdk/vectors.py: frame + ROI + rotation -> the model input and the affine). */
class PreprocessCase(v: Vectors, val doc: JSONObject) {
    val name: String = doc.getString("name")
    val input: JSONObject = doc.getJSONObject("input")
    val spec = InputSpec.fromJson(input)
    val frame = VectorFrame(v, doc.getJSONObject("frame"))
    val rotation = doc.getInt("rotation")
    val roi: FloatArray? = if (doc.isNull("roi")) null else doc.getJSONArray("roi").let { a -> FloatArray(4) { a.getDouble(it).toFloat() } }
    val dtype: String = input.getString("dtype")
    val expected: Any = doc.getJSONObject("expected").let { if (dtype == "uint8") v.uint8(it) else v.float32(it) }
    val affine = doc.getJSONArray("affine").let { a -> DoubleArray(6) { a.getDouble(it) } }
    val tolerance = if (dtype == "uint8") 1.0 else 1e-4
    val isYuv get() = !frame.isPacked

    companion object {
        /** Every preprocess vector (the Python reference writes more than 60). */
        fun load(): List<PreprocessCase> {
            val v = Vectors.load()
            return v.cases("preprocess").map { PreprocessCase(v, it) }.also { assertTrue("no preprocess vectors", it.size >= 60) }
        }
    }
}
