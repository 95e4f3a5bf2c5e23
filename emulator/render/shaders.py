"""GLSL 3.30 core sources for avatars and the screen overlay (the background has its own)."""

from __future__ import annotations

MAX_ACTIVE_TARGETS = 72  # RPM avatars: 52 ARKit + 15 visemes, with room to spare

# GPU_MORPH is 1 or 0 (`avatar_vertex_shader`): with CPU morphing (batch.py) the vertices arrive blended and
# already in the world, with the tint as an attribute, so that program has no loop and no model matrix.
AVATAR_VERTEX = f"""
#version 330 core
#define GPU_MORPH {{gpu_morph}}
#define VERTEX_LIT {{vertex_lit}}
#define TEXTURED {{textured}}
layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_normal;
layout(location = 2) in vec4 a_color;
layout(location = 3) in vec3 a_tint;
layout(location = 4) in vec2 a_uv;
layout(location = 5) in vec4 a_surface;  // texture layer, alpha cutoff (-1 BLEND), emissive layer, unlit
layout(location = 6) in vec3 a_emissive;
uniform mat4 u_model;
uniform vec3 u_tint;
uniform mat4 u_view_projection;
uniform int u_active;              // GPU morphing: how many (target, weight) pairs follow
uniform int u_vertex_count;
uniform int u_targets[{MAX_ACTIVE_TARGETS}];
uniform float u_weights[{MAX_ACTIVE_TARGETS}];
uniform samplerBuffer u_deltas;    // target-major: texel target * vertex_count + vertex
uniform float u_layer_base;        // GPU morphing: this avatar's first layer (the CPU batch bakes it in)
out vec3 v_normal;
out vec3 v_world;
out vec4 v_color;
flat out vec3 v_tint;  // constant per avatar, as emissive is per material: nothing to interpolate
out vec2 v_uv;
flat out vec4 v_surface;
flat out vec3 v_emissive;
out vec3 v_scale;  // VERTEX_LIT: this vertex's light (flat.py)
out vec3 v_add;
#if VERTEX_LIT
uniform vec3 u_eye;
LIGHTING
#endif
void main() {{
    vec3 p = a_position;
#if GPU_MORPH
    for (int i = 0; i < u_active; ++i) {{
        p += u_weights[i] * texelFetch(u_deltas, u_targets[i] * u_vertex_count + gl_VertexID).xyz;
    }}
    vec4 world = u_model * vec4(p, 1.0);
    v_normal = mat3(u_model) * a_normal;
    v_tint = u_tint;
#else
    vec4 world = vec4(p, 1.0);
    v_normal = a_normal;
    v_tint = a_tint;
#endif
    v_world = world.xyz;
    v_color = a_color;
    v_uv = a_uv;
    v_surface = a_surface;
#if GPU_MORPH
    v_surface.x = a_surface.x >= 0.0 && u_layer_base >= 0.0 ? a_surface.x + u_layer_base : -1.0;
    v_surface.z = a_surface.z >= 0.0 && u_layer_base >= 0.0 ? a_surface.z + u_layer_base : -1.0;
#endif
    v_emissive = a_emissive;
#if VERTEX_LIT
    light(normalize(v_normal), v_world, v_tint, a_surface.w, v_scale, v_add);
    v_add += a_emissive;
#if !TEXTURED
    v_color.rgb = a_color.rgb * v_scale + v_add;  // all of it here: one colour left to interpolate
#endif
#else
    v_scale = vec3(1.0);
    v_add = vec3(0.0);
#endif
    gl_Position = u_view_projection * world;
}}
"""


def avatar_vertex_shader(gpu_morph: bool, vertex_lit: bool = False, textured: bool = True) -> str:
    """The avatar vertex shader; `vertex_lit` (CPU morphing only) lights each vertex (flat.py), and
    without `textured` hands the fragment shader the finished colour."""
    source = AVATAR_VERTEX.replace("{gpu_morph}", "1" if gpu_morph else "0")
    source = source.replace("{vertex_lit}", "1" if vertex_lit and not gpu_morph else "0")
    source = source.replace("{textured}", "1" if textured else "0")
    return source.replace("LIGHTING", LIGHTING)


# Lighting meant to flatter a face: a soft key from above and to the side (wrapped, so the shadow side
# keeps detail), a sky/ground hemisphere term, a faint highlight and the participant's tint as a rim.
# Powers are products: pow() is exp2(log2()) on llvmpipe. As a factor on the base colour and a term
# added to it, so that far avatars (flat.py) can light each vertex and still multiply in their texture
# per pixel.
LIGHTING = """
void light(vec3 n, vec3 world, vec3 tint, float unlit, out vec3 scale, out vec3 add) {
    if (unlit > 0.5) {  // KHR_materials_unlit
        scale = vec3(1.0);
        add = vec3(0.0);
        return;
    }
    vec3 to_eye = normalize(u_eye - world);
    vec3 key = normalize(vec3(0.4, 0.8, 0.45));
    float diffuse = max((dot(n, key) + 0.25) / 1.25, 0.0);
    float sky = 0.5 + 0.5 * n.y;
    scale = mix(vec3(1.0), tint, 0.15) * (0.26 + 0.22 * sky + 0.62 * diffuse);
    vec3 h = normalize(key + to_eye);
    float highlight = max(dot(n, h), 0.0);
    highlight *= highlight;
    highlight *= highlight;
    highlight *= highlight;
    highlight *= highlight;
    float facing = 1.0 - max(dot(n, to_eye), 0.0);
    add = vec3(0.08) * highlight * highlight + tint * (facing * facing * facing * 0.45);  // 32nd power
}
"""

# MASK, EMISSIVE_MAP, TEXTURED and VERTEX_LIT are 1 or 0 (`avatar_fragment_shader`): a batch without
# MASK materials gets a shader that cannot `discard` (llvmpipe then tests depth before shading), one
# without emissive maps samples no second texture, one without textures none at all (llvmpipe fetches
# texels even for lanes its `if` masks off), and a vertex-lit one multiplies the base colour by the
# light its vertices got (BENCHMARKS.md, render).
AVATAR_FRAGMENT = """
#version 330 core
#define MASK {mask}
#define EMISSIVE_MAP {emissive_map}
#define TEXTURED {textured}
#define VERTEX_LIT {vertex_lit}
in vec3 v_normal;
in vec3 v_world;
in vec4 v_color;
flat in vec3 v_tint;
in vec2 v_uv;
flat in vec4 v_surface;
flat in vec3 v_emissive;
in vec3 v_scale;  // VERTEX_LIT: the vertices' light, emissive in `v_add`
in vec3 v_add;
uniform vec3 u_eye;
uniform sampler2DArray u_textures;
out vec4 frag;
#if !VERTEX_LIT
LIGHTING
#endif
void main() {
    vec4 base = v_color;
#if TEXTURED
    if (v_surface.x >= 0.0) base *= texture(u_textures, vec3(v_uv, v_surface.x));
#endif
#if MASK
    if (v_surface.y > 0.0 && base.a < v_surface.y) discard;  // hair cards, lashes
#endif
#if VERTEX_LIT && TEXTURED
    vec3 lit = base.rgb * v_scale + v_add;
#elif VERTEX_LIT
    vec3 lit = base.rgb;  // lit by the vertex shader
#else
    vec3 emissive = v_emissive;
#if EMISSIVE_MAP
    if (v_surface.z >= 0.0) emissive *= texture(u_textures, vec3(v_uv, v_surface.z)).rgb;
#endif
    vec3 scale, add;
    light(normalize(gl_FrontFacing ? v_normal : -v_normal), v_world, v_tint, v_surface.w, scale, add);
    vec3 lit = base.rgb * scale + add + emissive;
#endif
    frag = vec4(lit, v_surface.y < 0.0 ? base.a : 1.0);
}
""".replace("LIGHTING", LIGHTING)


def avatar_fragment_shader(
    mask: bool = True, emissive_map: bool = True, textured: bool = True, vertex_lit: bool = False
) -> str:
    """The avatar fragment shader with only the features the drawn materials use compiled in; a
    vertex-lit one goes with `avatar_vertex_shader(False, vertex_lit=True)` and samples no emissive
    texture (flat.py bakes those into the vertices)."""
    flags = {
        "{mask}": mask,
        "{emissive_map}": emissive_map and not vertex_lit,
        "{textured}": textured,
        "{vertex_lit}": vertex_lit,
    }
    source = AVATAR_FRAGMENT
    for name, on in flags.items():
        source = source.replace(name, "1" if on else "0")
    return source


OVERLAY_VERTEX = """
#version 330 core
layout(location = 0) in vec3 a_pixel;  // x, y in pixels (y down), z: NDC depth
layout(location = 1) in vec2 a_uv;
layout(location = 2) in vec4 a_color;
uniform vec2 u_viewport;
out vec2 v_uv;
out vec4 v_color;
void main() {
    v_uv = a_uv;
    v_color = a_color;
    vec2 ndc = vec2(a_pixel.x / u_viewport.x * 2.0 - 1.0, 1.0 - a_pixel.y / u_viewport.y * 2.0);
    gl_Position = vec4(ndc, a_pixel.z, 1.0);
}
"""

OVERLAY_FRAGMENT = """
#version 330 core
in vec2 v_uv;
in vec4 v_color;
uniform sampler2D u_atlas;
out vec4 frag;
void main() {
    float a = v_uv.x < 0.0 ? 1.0 : texture(u_atlas, v_uv).r;
    frag = vec4(v_color.rgb, v_color.a * a);
}
"""
