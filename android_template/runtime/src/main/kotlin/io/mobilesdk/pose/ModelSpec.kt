package io.mobilesdk.pose

import org.json.JSONArray
import org.json.JSONException
import org.json.JSONObject

/**
 * Everything model-specific the runtime needs, taken from the model's manifest (`manifest.json` of
 * `mobilesdk build`, or the copy embedded in the artifact). The generated facade (e.g.
 * `MoveposeXsPoseEstimator`) constructs it from constants; [fromManifest] parses it from the JSON text.
 *
 * @property modelId the card id, e.g. "movepose-xs".
 * @property runtime which engine runs the artifact.
 * @property recipe the export recipe, e.g. "xnnpack-fp32", "litert-int8".
 * @property assetName the model file name inside the AAR's `assets/` (and the manifest's `file`).
 * @property sha256 lowercase hex SHA-256 of that file (null: not checked).
 * @property keypointNames K names, in model order.
 * @property skeleton limbs as index pairs into [keypointNames].
 * @property flipPairs left/right index pairs (flip test; informative here).
 * @property manifestJson the manifest JSON text, handed to the native core (which reads its own copy of
 *   the same contract); null only for specs built by hand for the Kotlin path.
 * @property randomWeights the model was built without trained weights (`mobilesdk build` without
 *   `--checkpoint`, the manifest's `model.weights` is "random"): it runs, but its keypoints are noise.
 *   [PoseEstimator.create] logs a warning once per model and process; [PoseEstimator.randomWeights] says so.
 */
data class ModelSpec(
    val modelId: String,
    val runtime: Runtime,
    val recipe: String,
    val input: InputSpec,
    val outputs: List<OutputSpec>,
    val codec: CodecSpec,
    val keypointNames: List<String>,
    val skeleton: List<Pair<Int, Int>>,
    val flipPairs: List<Pair<Int, Int>>,
    val assetName: String,
    val sha256: String?,
    val manifestJson: String?,
    val randomWeights: Boolean = false,
) {
    enum class Runtime(val manifestName: String) {
        EXECUTORCH("executorch"),
        LITERT("litert");

        companion object {
            fun of(name: String): Runtime = values().firstOrNull { it.manifestName == name }
                ?: throw manifestError("artifact runtime '$name' is not one of executorch, litert")
        }
    }

    val numKeypoints: Int get() = keypointNames.size

    /** The skeleton's edges by keypoint name. */
    val skeletonEdges: List<SkeletonEdge> by lazy {
        skeleton.map { (a, b) -> SkeletonEdge(keypointNames[a], keypointNames[b]) }
    }

    /**
     * The [Keypoint.visibility] under which a keypoint counts as not visible, when [PoseEstimator.Options] sets
     * none: 0.5 ([VisibilityCalibration.DEFAULT_THRESHOLD]) for every model, since visibility is a calibrated
     * probability with one meaning across codecs. (Before visibility existed this was a raw-score threshold
     * whose scale depended on the codec, e.g. 8/512 for SimCC; the raw score is still [Keypoint.score].)
     */
    val defaultMinKeypointScore: Float
        get() = VisibilityCalibration.DEFAULT_THRESHOLD

    init {
        require(keypointNames.isNotEmpty()) { "a model has at least one keypoint" }
        for ((a, b) in skeleton + flipPairs) {
            require(a in keypointNames.indices && b in keypointNames.indices) {
                "skeleton/flip pair ($a, $b) outside the ${keypointNames.size} keypoints"
            }
        }
        require(outputs.isNotEmpty()) { "a model has at least one output" }
    }

    companion object {
        const val SCHEMA = "mobilesdk-manifest"
        const val SCHEMA_VERSION = 1

        /**
         * Parse a manifest (`dist/<id>/manifest.json`, several artifacts: pick one with [recipe]; or an
         * embedded one with one artifact, [recipe] may be null). [assetName] overrides the artifact's `file`
         * (absent from embedded manifests). Errors throw [PoseException] with status INVALID_MANIFEST naming
         * the key.
         */
        @JvmStatic
        @JvmOverloads
        fun fromManifest(json: String, recipe: String? = null, assetName: String? = null): ModelSpec {
            val doc = try {
                JSONObject(json)
            } catch (e: JSONException) {
                throw PoseException(PoseException.INVALID_MANIFEST, "manifest is not valid JSON: ${e.message}", e)
            }
            try {
                return parse(doc, json, recipe, assetName)
            } catch (e: JSONException) {
                throw PoseException(PoseException.INVALID_MANIFEST, "manifest: ${e.message}", e)
            } catch (e: IllegalArgumentException) {
                throw PoseException(PoseException.INVALID_MANIFEST, "manifest: ${e.message}", e)
            }
        }

        private fun parse(doc: JSONObject, json: String, recipe: String?, assetName: String?): ModelSpec {
            if (doc.optString("schema") != SCHEMA) throw manifestError("not a mobilesdk manifest (schema is '${doc.opt("schema")}')")
            if (doc.optInt("schema_version", -1) != SCHEMA_VERSION) {
                throw manifestError("schema_version ${doc.opt("schema_version")} is not supported (this runtime reads $SCHEMA_VERSION)")
            }
            val artifacts = doc.getJSONArray("artifacts")
            val entries = (0 until artifacts.length()).map { artifacts.getJSONObject(it) }
            val entry = when {
                recipe != null -> entries.firstOrNull { it.optString("recipe") == recipe }
                    ?: throw manifestError("no artifact for recipe '$recipe' (has: ${entries.joinToString { it.optString("recipe") }})")
                entries.size == 1 -> entries[0]
                else -> throw manifestError("${entries.size} artifacts (${entries.joinToString { it.optString("recipe") }}): choose one by recipe")
            }
            val keypoints = doc.getJSONObject("keypoints")
            val codec = doc.getJSONObject("codec")
            val outputs = entry.getJSONArray("outputs")
            return ModelSpec(
                modelId = doc.getJSONObject("model").getString("id"),
                runtime = Runtime.of(entry.getString("runtime")),
                recipe = entry.getString("recipe"),
                input = InputSpec.fromJson(entry.getJSONObject("input")),
                outputs = (0 until outputs.length()).map { OutputSpec.fromJson(outputs.getJSONObject(it)) },
                codec = CodecSpec(
                    codec.getString("name"), toMap(codec.optJSONObject("params") ?: JSONObject()), visibility(codec),
                ),
                keypointNames = strings(keypoints.getJSONArray("names")),
                skeleton = pairs(keypoints.optJSONArray("skeleton")),
                flipPairs = pairs(keypoints.optJSONArray("flip_pairs")),
                assetName = assetName ?: entry.optString("file").ifEmpty {
                    throw manifestError("artifact '${entry.getString("recipe")}' names no file; pass assetName")
                },
                sha256 = entry.optString("sha256").ifEmpty { null },
                manifestJson = json,
                randomWeights = doc.getJSONObject("model").optString("weights") == "random",
            )
        }

        internal fun strings(a: JSONArray): List<String> = (0 until a.length()).map { a.getString(it) }

        internal fun ints(a: JSONArray): List<Int> = (0 until a.length()).map { a.getInt(it) }

        /** The codec object's `visibility` {a > 0, b} (null when absent: the codec's default applies). */
        internal fun visibility(codec: JSONObject): VisibilityCalibration? {
            if (!codec.has("visibility") || codec.isNull("visibility")) return null
            val v = codec.opt("visibility")
            val a = (v as? JSONObject)?.opt("a")
            val b = (v as? JSONObject)?.opt("b")
            val ok = v is JSONObject && v.length() == 2 && a is Number && b is Number &&
                a.toDouble().isFinite() && a.toDouble() > 0 && b.toDouble().isFinite()
            if (!ok) throw manifestError("key 'codec.visibility': expected a mapping {a: number > 0, b: number}, got $v")
            return VisibilityCalibration((a as Number).toDouble(), (b as Number).toDouble())
        }

        internal fun doubles(a: JSONArray): List<Double> = (0 until a.length()).map { a.getDouble(it) }

        private fun pairs(a: JSONArray?): List<Pair<Int, Int>> {
            if (a == null) return emptyList()
            return (0 until a.length()).map {
                val p = a.getJSONArray(it)
                require(p.length() == 2) { "pair $p must have two indices" }
                p.getInt(0) to p.getInt(1)
            }
        }

        /** JSON object -> Map of String, Double/Int/Long/Boolean/String/List/Map (null for JSON null). */
        internal fun toMap(o: JSONObject): Map<String, Any?> {
            val out = LinkedHashMap<String, Any?>()
            val keys = o.keys()
            while (keys.hasNext()) {
                val k = keys.next()
                out[k] = toValue(o.get(k))
            }
            return out
        }

        private fun toValue(v: Any?): Any? = when (v) {
            null, JSONObject.NULL -> null
            is JSONObject -> toMap(v)
            is JSONArray -> (0 until v.length()).map { toValue(v.get(it)) }
            else -> v
        }
    }
}

/**
 * The model input and how a frame becomes it (mobilesdk/preprocess.py defines every step).
 *
 * @property width model-input width in pixels, [height] likewise.
 * @property mean per-channel mean in the model's colour order, subtracted before dividing by [std]
 *   (float32 inputs; uint8 inputs carry the normalisation in the graph).
 * @property roiPadding `affine` crops enlarge a person box (ROI) by this factor (MMPose/HRNet 1.25).
 */
data class InputSpec(
    val name: String,
    val width: Int,
    val height: Int,
    val layout: Layout,
    val dtype: DType,
    val color: Color,
    val mean: List<Double>,
    val std: List<Double>,
    val resize: Resize,
    val roiPadding: Double = DEFAULT_ROI_PADDING,
) {
    enum class Layout { NCHW, NHWC }

    enum class DType(val manifestName: String, val bytes: Int) { FLOAT32("float32", 4), UINT8("uint8", 1) }

    enum class Color { RGB, BGR }

    enum class Resize(val manifestName: String) { AFFINE("affine"), LETTERBOX("letterbox"), STRETCH("stretch") }

    /** (1, 3, H, W) for NCHW, (1, H, W, 3) for NHWC. */
    val shape: List<Int> get() = if (layout == Layout.NCHW) listOf(1, 3, height, width) else listOf(1, height, width, 3)

    /** Bytes of one model input. */
    val bytes: Int get() = 3 * width * height * dtype.bytes

    init {
        require(width > 0 && height > 0) { "input size ${width}x$height must be positive" }
        require(mean.size == 3 && std.size == 3) { "input mean and std need 3 values each" }
        require(std.all { it.isFinite() && it != 0.0 } && mean.all { it.isFinite() }) { "input mean/std must be finite, std != 0" }
        require(roiPadding.isFinite() && roiPadding > 0) { "input roi_padding $roiPadding must be > 0" }
    }

    companion object {
        const val DEFAULT_ROI_PADDING = 1.25

        internal fun fromJson(o: JSONObject): InputSpec {
            val size = o.getJSONObject("size")
            val w = size.getInt("width")
            val h = size.getInt("height")
            val layout = when (val l = o.getString("layout")) {
                "NCHW" -> Layout.NCHW
                "NHWC" -> Layout.NHWC
                else -> throw manifestError("input.layout '$l' is not NCHW or NHWC")
            }
            val dtype = DType.values().firstOrNull { it.manifestName == o.getString("dtype") }
                ?: throw manifestError("input.dtype '${o.getString("dtype")}' is not float32 or uint8")
            val color = when (val c = o.optString("color", "rgb")) {
                "rgb" -> Color.RGB
                "bgr" -> Color.BGR
                else -> throw manifestError("input.color '$c' is not rgb or bgr")
            }
            val resize = Resize.values().firstOrNull { it.manifestName == o.optString("resize", "affine") }
                ?: throw manifestError("input.resize '${o.optString("resize")}' is not affine, letterbox or stretch")
            val shape = o.optJSONArray("shape")?.let { ModelSpec.ints(it) }
            val spec = InputSpec(
                name = o.optString("name", "image"),
                width = w,
                height = h,
                layout = layout,
                dtype = dtype,
                color = color,
                mean = ModelSpec.doubles(o.getJSONArray("mean")),
                std = ModelSpec.doubles(o.getJSONArray("std")),
                resize = resize,
                roiPadding = if (o.has("roi_padding") && !o.isNull("roi_padding")) o.getDouble("roi_padding") else DEFAULT_ROI_PADDING,
            )
            if (shape != null && shape != spec.shape) {
                throw manifestError("input.shape $shape does not match size ${w}x$h in layout $layout")
            }
            return spec
        }
    }
}

/** One model output: [shape] with the batch dim, [role] the codec output it feeds (e.g. "simcc_x"). */
data class OutputSpec(val name: String, val shape: List<Int>, val dtype: String, val role: String) {
    /** Float count of the output. */
    val count: Int get() = shape.fold(1) { a, b -> a * b }

    init {
        require(shape.isNotEmpty() && shape.all { it > 0 }) { "output '$name' shape $shape must be positive" }
    }

    companion object {
        internal fun fromJson(o: JSONObject): OutputSpec {
            val name = o.getString("name")
            return OutputSpec(name, ModelSpec.ints(o.getJSONArray("shape")), o.optString("dtype", "float32"), o.optString("role", name))
        }
    }
}

/**
 * The decoding contract: codec [name] ("simcc", "heatmap", "integral-3d") and its parameters (mobilesdk/codecs);
 * [visibility] is the manifest's `codec.visibility`, null when it has none (then [visibilityCalibration] is the
 * codec's default).
 */
data class CodecSpec(val name: String, val params: Map<String, Any?>, val visibility: VisibilityCalibration? = null) {
    /** How raw scores become [Keypoint.visibility] for this codec. */
    val visibilityCalibration: VisibilityCalibration get() = visibility ?: VisibilityCalibration.defaultFor(this)
}

internal fun manifestError(message: String) = PoseException(PoseException.INVALID_MANIFEST, "manifest: $message")
