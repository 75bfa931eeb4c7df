import io.mobilesdk.pose.KeypointId;
import io.mobilesdk.pose.ModelSpec;
import java.lang.reflect.Field;
import java.util.List;
import java.util.Objects;

/**
 * For each generated facade class named on the command line: its SPEC (the constants the templates wrote)
 * must equal what the runtime parses from its own MANIFEST_JSON (ModelSpec.fromManifest), field by field, and
 * KEYPOINT_NAMES must be the spec's names; the typed accessors (the nested Keypoint enum: one constant per
 * keypoint with its index and name, in model order; SKELETON_EDGES: the spec's skeleton as pairs of those
 * constants) must agree with it. Prints "OK <class>" or "FAIL <class>: <field>" per class.
 */
public final class FacadeCheck {
    private static Object get(Class<?> cls, String name) throws Exception {
        Field f = cls.getField(name);
        return f.get(null);
    }

    /** null when the Keypoint enum and SKELETON_EDGES match [spec], else what differs. */
    private static String typedAccessors(Class<?> facade, ModelSpec spec) throws Exception {
        Object[] constants = Class.forName(facade.getName() + "$Keypoint").getEnumConstants();
        List<String> names = spec.getKeypointNames();
        if (constants.length != names.size()) return "Keypoint enum has " + constants.length + " constants";
        for (int i = 0; i < constants.length; i++) {
            KeypointId id = (KeypointId) constants[i];
            if (id.getIndex() != i || !id.getKeypointName().equals(names.get(i))) return "Keypoint." + constants[i] + " is " + id.getIndex() + "/" + id.getKeypointName();
        }
        List<?> edges = (List<?>) get(facade, "SKELETON_EDGES");
        List<?> skeleton = spec.getSkeleton();
        if (edges.size() != skeleton.size()) return "SKELETON_EDGES size";
        for (int i = 0; i < edges.size(); i++) {
            kotlin.Pair<?, ?> e = (kotlin.Pair<?, ?>) edges.get(i);
            kotlin.Pair<?, ?> s = (kotlin.Pair<?, ?>) skeleton.get(i);
            if (((KeypointId) e.getFirst()).getIndex() != (Integer) s.getFirst() || ((KeypointId) e.getSecond()).getIndex() != (Integer) s.getSecond()) {
                return "SKELETON_EDGES[" + i + "]";
            }
        }
        return null;
    }

    public static void main(String[] args) throws Exception {
        int failures = 0;
        for (String name : args) {
            Class<?> cls = Class.forName(name);
            ModelSpec spec = (ModelSpec) get(cls, "SPEC");
            String json = (String) get(cls, "MANIFEST_JSON");
            ModelSpec parsed = ModelSpec.fromManifest(json, (String) get(cls, "RECIPE"), (String) get(cls, "ASSET_NAME"));
            String bad = null;
            if (!spec.getModelId().equals(parsed.getModelId())) bad = "modelId";
            else if (spec.getRuntime() != parsed.getRuntime()) bad = "runtime";
            else if (!spec.getRecipe().equals(parsed.getRecipe())) bad = "recipe";
            else if (!spec.getInput().equals(parsed.getInput())) bad = "input " + spec.getInput() + " vs " + parsed.getInput();
            else if (!spec.getOutputs().equals(parsed.getOutputs())) bad = "outputs";
            else if (!spec.getCodec().equals(parsed.getCodec())) bad = "codec " + spec.getCodec() + " vs " + parsed.getCodec();
            else if (!spec.getKeypointNames().equals(parsed.getKeypointNames())) bad = "keypointNames";
            else if (!spec.getSkeleton().equals(parsed.getSkeleton())) bad = "skeleton";
            else if (!spec.getFlipPairs().equals(parsed.getFlipPairs())) bad = "flipPairs";
            else if (!spec.getAssetName().equals(parsed.getAssetName())) bad = "assetName";
            else if (!Objects.equals(spec.getManifestJson(), json)) bad = "manifestJson";
            else if (!get(cls, "ASSET_SHA256").equals(spec.getSha256())) bad = "sha256";
            else if (!((List<?>) get(cls, "KEYPOINT_NAMES")).equals(spec.getKeypointNames())) bad = "KEYPOINT_NAMES";
            else if (spec.getRandomWeights() != parsed.getRandomWeights()) bad = "randomWeights";
            else if (!get(cls, "RANDOM_WEIGHTS").equals(spec.getRandomWeights())) bad = "RANDOM_WEIGHTS";
            if (bad == null) bad = typedAccessors(cls, spec);
            System.out.println(bad == null ? "OK " + name : "FAIL " + name + ": " + bad);
            if (bad != null) failures++;
        }
        System.exit(failures == 0 ? 0 : 1);
    }
}
