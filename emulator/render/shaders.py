"""GLSL 3.30 core sources for avatars and the screen overlay (the background has its own)."""

from __future__ import annotations

MAX_ACTIVE_TARGETS = 72  # RPM avatars: 52 ARKit + 15 visemes, with room to spare

# GPU_MORPH is 1 or 0 (`avatar_vertex_shader`): with CPU morphing (batch.py) the vertices arrive blended and
# already in the world, with the tint as an attribute, so that program has no loop and no model matrix.
AVATAR_VERTEX = f"""
#version 330 core
#define GPU_MORPH {{gpu_morph}}
#define GPU_SKIN {{gpu_skin}}
layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_normal;
layout(location = 2) in vec4 a_color;
layout(location = 3) in vec3 a_tint;
uniform mat4 u_model;
uniform vec3 u_tint;
uniform mat4 u_view_projection;
uniform int u_active;              // GPU morphing: how many (target, weight) pairs follow
uniform int u_vertex_count;
uniform int u_targets[{MAX_ACTIVE_TARGETS}];
uniform float u_weights[{MAX_ACTIVE_TARGETS}];
uniform samplerBuffer u_deltas;    // target-major: texel target * vertex_count + vertex
#if GPU_SKIN
layout(location = 4) in vec4 a_joints;   // skin slots (skeleton.py), as floats
layout(location = 5) in vec4 a_weights;
uniform samplerBuffer u_bones;
#endif
out vec3 v_normal;
out vec3 v_world;
out vec4 v_color;
out vec3 v_tint;
void main() {{
    vec3 p = a_position;
#if GPU_MORPH
    for (int i = 0; i < u_active; ++i) {{
        p += u_weights[i] * texelFetch(u_deltas, u_targets[i] * u_vertex_count + gl_VertexID).xyz;
    }}
    vec3 n = a_normal;
#if GPU_SKIN
    // Skin blended positions and normals: 3 texels (the rows of a 3x4) per skin slot.
    mat4 skin = mat4(0.0);
    for (int k = 0; k < 4; ++k) {{
        int row = int(a_joints[k]) * 3;
        skin += a_weights[k] * transpose(mat4(texelFetch(u_bones, row), texelFetch(u_bones, row + 1),
                                              texelFetch(u_bones, row + 2), vec4(0.0, 0.0, 0.0, 1.0)));
    }}
    p = (skin * vec4(p, 1.0)).xyz;
    n = mat3(skin) * n;
#endif
    vec4 world = u_model * vec4(p, 1.0);
    v_normal = mat3(u_model) * n;
    v_tint = u_tint;
#else
    vec4 world = vec4(p, 1.0);
    v_normal = a_normal;
    v_tint = a_tint;
#endif
    v_world = world.xyz;
    v_color = a_color;
    gl_Position = u_view_projection * world;
}}
"""


def avatar_vertex_shader(gpu_morph: bool, gpu_skin: bool = False) -> str:
    """GPU skinning only comes with GPU morphing (it needs the per-avatar model matrix)."""
    source = AVATAR_VERTEX.replace("{gpu_morph}", "1" if gpu_morph else "0")
    return source.replace("{gpu_skin}", "1" if gpu_skin and gpu_morph else "0")


AVATAR_FRAGMENT = """
#version 330 core
in vec3 v_normal;
in vec3 v_world;
in vec4 v_color;
in vec3 v_tint;
uniform vec3 u_eye;
out vec4 frag;
void main() {
    vec3 n = normalize(gl_FrontFacing ? v_normal : -v_normal);
    vec3 to_eye = normalize(u_eye - v_world);
    vec3 key = normalize(vec3(0.4, 0.8, 0.45));
    float diffuse = max(dot(n, key), 0.0);
    float sky = 0.5 + 0.5 * n.y;
    vec3 base = v_color.rgb * mix(vec3(1.0), v_tint, 0.15);
    vec3 lit = base * (0.28 + 0.22 * sky + 0.65 * diffuse);
    vec3 h = normalize(key + to_eye);
    lit += vec3(0.12) * pow(max(dot(n, h), 0.0), 32.0);
    float rim = pow(1.0 - max(dot(n, to_eye), 0.0), 3.0);
    lit += v_tint * rim * 0.45;
    frag = vec4(lit, 1.0);
}
"""

OVERLAY_VERTEX = """
#version 330 core
layout(location = 0) in vec2 a_pixel;
layout(location = 1) in vec2 a_uv;
layout(location = 2) in vec4 a_color;
uniform vec2 u_viewport;
out vec2 v_uv;
out vec4 v_color;
void main() {
    v_uv = a_uv;
    v_color = a_color;
    gl_Position = vec4(a_pixel.x / u_viewport.x * 2.0 - 1.0, 1.0 - a_pixel.y / u_viewport.y * 2.0, 0.0, 1.0);
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
