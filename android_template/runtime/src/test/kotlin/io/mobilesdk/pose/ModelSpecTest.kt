package io.mobilesdk.pose

import io.mobilesdk.pose.testing.Specs
import org.json.JSONObject
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.GraphicsMode

/** ModelSpec from a real manifest (mobilesdk build --model movepose-xs --backend all). */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class ModelSpecTest {
    @Test
    fun parsesBothArtifacts() {
        val t = Specs.litert()
        assertEquals("movepose-xs", t.modelId)
        assertEquals(ModelSpec.Runtime.LITERT, t.runtime)
        assertEquals(InputSpec.Layout.NHWC, t.input.layout)
        assertEquals(listOf(1, 256, 256, 3), t.input.shape)
        assertEquals(InputSpec.DType.FLOAT32, t.input.dtype)
        assertEquals(InputSpec.Resize.AFFINE, t.input.resize)
        assertEquals(listOf(123.675, 116.28, 103.53), t.input.mean)
        assertEquals(1.25, t.input.roiPadding, 0.0) // absent from this manifest: the default
        assertEquals(listOf("simcc_x", "simcc_y"), t.outputs.map { it.role })
        assertEquals(listOf(1, 17, 512), t.outputs[0].shape)
        assertEquals("simcc", t.codec.name)
        assertEquals(2.0, t.codec.params["split_ratio"])
        assertEquals(mapOf("x" to 5.66, "y" to 5.66), t.codec.params["sigma"])
        assertEquals(17, t.numKeypoints)
        assertEquals(15 to 13, t.skeleton[0])
        assertEquals(1 to 2, t.flipPairs[0])
        assertEquals("movepose-xs.litert-fp32.tflite", t.assetName)
        assertEquals(64, t.sha256!!.length)
        val e = Specs.executorch()
        assertEquals(ModelSpec.Runtime.EXECUTORCH, e.runtime)
        assertEquals(InputSpec.Layout.NCHW, e.input.layout)
        assertEquals("movepose-xs.xnnpack-fp32.pte", e.assetName)
        assertEquals(Specs.manifestJson, e.manifestJson)
    }

    @Test
    fun roiPaddingIsRead() {
        val doc = JSONObject(Specs.manifestJson)
        doc.getJSONArray("artifacts").getJSONObject(0).getJSONObject("input").put("roi_padding", 1.5)
        assertEquals(1.5, ModelSpec.fromManifest(doc.toString(), "litert-fp32").input.roiPadding, 0.0)
    }

    @Test
    fun embeddedManifestWithOneArtifact() {
        val doc = JSONObject(Specs.manifestJson)
        val art = doc.getJSONArray("artifacts").getJSONObject(1)
        art.remove("file")
        art.remove("sha256")
        doc.put("artifacts", org.json.JSONArray().put(art))
        val spec = ModelSpec.fromManifest(doc.toString(), assetName = "model.pte")
        assertEquals("xnnpack-fp32", spec.recipe)
        assertEquals("model.pte", spec.assetName)
        assertNull(spec.sha256)
        val e = assertThrows(PoseException::class.java) { ModelSpec.fromManifest(doc.toString()) }
        assertTrue(e.message!!, e.message!!.contains("names no file"))
    }

    @Test
    fun errorsNameTheProblem() {
        fun bad(json: String, recipe: String?, contains: String) {
            val e = assertThrows(PoseException::class.java) { ModelSpec.fromManifest(json, recipe) }
            assertEquals(PoseException.INVALID_MANIFEST, e.status)
            assertTrue("${e.message}", e.message!!.contains(contains))
        }
        bad(Specs.manifestJson, null, "2 artifacts (litert-fp32, xnnpack-fp32): choose one by recipe")
        bad(Specs.manifestJson, "litert-int8", "no artifact for recipe 'litert-int8' (has: litert-fp32, xnnpack-fp32)")
        bad("{", null, "not valid JSON")
        bad("{\"schema\": \"other\"}", null, "not a mobilesdk manifest")
        bad(Specs.manifestJson.replace("\"schema_version\": 1", "\"schema_version\": 7"), "litert-fp32", "schema_version 7")
        bad(Specs.manifestJson.replace("\"NHWC\"", "\"CHWN\""), "litert-fp32", "CHWN")
        val noKeypoints = JSONObject(Specs.manifestJson).also { it.remove("keypoints") }.toString()
        bad(noKeypoints, "litert-fp32", "keypoints")
    }

    @Test
    fun defaultVisibilityThresholdIsHalfForEveryCodec() {
        assertEquals(0.5f, Specs.litert().defaultMinKeypointScore, 0f)
        val hm = Specs.litert().copy(codec = CodecSpec("heatmap", mapOf("heatmap_size" to mapOf("width" to 64, "height" to 64))))
        assertEquals(0.5f, hm.defaultMinKeypointScore, 0f)
        assertEquals(VisibilityCalibration.HEATMAP, hm.codec.visibilityCalibration)
        val raw = Specs.litert().copy(codec = CodecSpec("simcc", mapOf("normalize" to false)))
        assertEquals(0.5f, raw.defaultMinKeypointScore, 0f)
        assertEquals(VisibilityCalibration.HEATMAP, raw.codec.visibilityCalibration)
        assertEquals(VisibilityCalibration.SIMCC, Specs.litert().codec.visibilityCalibration)
        // heatmap: a peak of 0.5 is visibility 0.5; the map grows with the score; no log of scores <= 0
        assertEquals(0.5, VisibilityCalibration.HEATMAP.visibility(0.5), 1e-12)
        assertEquals(0.0, VisibilityCalibration.HEATMAP.visibility(-0.2), 0.0)
        assertTrue(VisibilityCalibration.SIMCC.visibility(0.05) < VisibilityCalibration.SIMCC.visibility(0.06))
        for (cal in listOf(VisibilityCalibration.SIMCC, VisibilityCalibration.INTEGRAL_3D, VisibilityCalibration.HEATMAP)) {
            for (t in listOf(0.1, 0.5, 0.9)) assertEquals(t, cal.visibility(cal.scoreAt(t)), 1e-9)
        }
    }

    @Test
    fun visibilityCalibrationIsReadFromTheCodecSection() {
        val doc = JSONObject(Specs.manifestJson)
        assertEquals(null, ModelSpec.fromManifest(doc.toString(), "litert-fp32").codec.visibility)
        doc.getJSONObject("codec").put("visibility", JSONObject().put("a", 2.0).put("b", -1.0))
        val spec = ModelSpec.fromManifest(doc.toString(), "litert-fp32")
        assertEquals(VisibilityCalibration(2.0, -1.0), spec.codec.visibilityCalibration)
        assertEquals(1.0 / (1.0 + Math.exp(-(2.0 * Math.log(0.3) - 1.0))), spec.codec.visibilityCalibration.visibility(0.3), 1e-12)
        for (bad in listOf("{\"a\": 1}", "{\"a\": 0, \"b\": 1}", "{\"a\": \"x\", \"b\": 1}", "[1, 2]")) {
            doc.getJSONObject("codec").put("visibility", org.json.JSONTokener(bad).nextValue())
            val e = assertThrows(PoseException::class.java) { ModelSpec.fromManifest(doc.toString(), "litert-fp32") }
            assertEquals(PoseException.INVALID_MANIFEST, e.status)
            assertTrue(e.message!!, e.message!!.contains("codec.visibility"))
        }
    }
}
