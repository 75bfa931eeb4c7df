package io.mobilesdk.pose.testing

import io.mobilesdk.pose.ModelSpec

object Specs {
    /** The real movepose-xs manifest (litert-fp32 + xnnpack-fp32 artifacts) from test resources. */
    val manifestJson: String by lazy {
        Specs::class.java.getResource("/manifests/movepose-xs.json")!!.readText()
    }

    fun litert(): ModelSpec = ModelSpec.fromManifest(manifestJson, "litert-fp32")

    fun executorch(): ModelSpec = ModelSpec.fromManifest(manifestJson, "xnnpack-fp32")
}
