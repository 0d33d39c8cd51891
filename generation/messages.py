"""The English template of every error sentence a user may see, keyed by a stable id.

`RequestError.of(field, value, id, **values)` fills a template in; the chat catalogue
(`bot.i18n.catalogue`) renders the same id in the user's language under `error.<id>`. Numbers are
passed as numbers and formatted here (`{size:.1f}`), so each language formats them alike.

This module is pure: it imports nothing (enforced by import-linter).
"""

from __future__ import annotations

ERRORS: dict[str, str] = {
    # -- the request model (generation.request) --------------------------------------
    "k3_no_inpainting": "Kandinsky 3 has no inpainting; try model 2.2",
    "k3_no_mix": "Kandinsky 3 has no prior, so it cannot mix; try model 2.2",
    "depth_only_k22": "Depth ControlNet exists only for Kandinsky 2.2; try model 2.2",
    "k5_use_edit": "Kandinsky 5 changes a picture by instruction, not by strength: "
    "use /edit (task edit) and say what to change",
    "k5_no_inpainting": "Kandinsky 5 has no mask inpainting; say what to change with /edit, "
    "or try model 2.2 with a mask",
    "k5_no_mix": "Kandinsky 5 has no prior, so it cannot mix; try model 2.2",
    "animate_only_5v": "Kandinsky {model} makes pictures, not videos; /animate uses model {able}",
    "video_only": "Kandinsky {model} makes videos only: use /animate, or model 5 for pictures",
    "video_image_length": "Kandinsky {model} sets a picture in motion for 5 seconds only; "
    "leave out --seconds {seconds}",
    "video_image_no_fast": "Kandinsky {model} has no fast checkpoint for a picture set in motion; "
    "leave out --fast",
    "video_image_frames": "a picture set in motion needs at least {low} frames, and these "
    "settings make {frames}; raise --fps",
    "video_not_picture": "#{id} is a video, and /{command} starts from a picture: attach "
    "one, or name one of your pictures",
    "edit_elsewhere": "Kandinsky {model} cannot edit by instruction; try model {able}",
    "edit_no_strength": "edit takes no strength: the instruction says what to change; "
    "leave out --strength",
    "scheduler_for_model": "Kandinsky {model} takes only the scheduler {choices}, got {value}",
    "size_not_listed": "Kandinsky {model} makes only these sizes: {sizes}; got --size {value} "
    "(--ar picks the nearest)",
    "mix_item_kind": "each mix item is either a text or an image",
    "one_of": "{name} must be one of {choices}, got {value}",
    "not_text": "{name} must be text",
    "too_long": "{name} is {length} characters long; the limit is {limit}",
    "no_nul": "{name} must not contain NUL characters",
    "prompt_empty": "prompt must not be empty",
    "whole_number": "{name} must be a whole number, got {value}",
    "not_a_number": "{name} must be a number, got {value}",
    "between": "{name} must be between {low} and {high}, got {value}",
    "size_sides_multiple": "--size {size}: both sides must be multiples of {multiple}, "
    "and {value} is not",
    "size_sides_between": "--size {size}: both sides must be between {low} and {high} pixels, "
    "and {value} is not",
    "size_pixels": "--size {width}x{height} is over the limit of {limit} pixels",
    "size_format": "{name} must look like 768x512, got {value}",
    "size_positive": "an image must have a positive size",
    "no_denoising_step": "strength {strength} with {steps} steps runs no denoising step; "
    "raise the strength or the steps",
    "needs_picture": "{task} needs a picture to start from",
    "inpaint_needs_mask": "inpaint needs a mask (white = repaint) or a transparent PNG",
    "depth_needs_input": "depth needs a picture or a depth map",
    "depth_img2img_needs_picture": "depth as image to image needs a picture",
    "mix_only": "mix items are only used by mix, not {task}",
    "mix_too_few": "mix needs at least 2 items, got {count}",
    "mix_too_many": "mix takes at most {limit} items, got {count}",
    "mix_text_too_long": "a mix text is over the prompt length limit",
    "mix_weights_zero": "mix weights must not all be zero",
    "batch_range": "--batch must name one of at most {limit} pictures made together, "
    "like 2/4, got {value}",
    "batch_one_image": "--batch makes one picture again; leave out --n",
    # -- the option grammar (bot.chat.grammar) -----------------------------------------------
    "unknown_option": "unknown option {option}; the options are {options}",
    "unknown_option_suggest": "unknown option {option}; did you mean --{suggestion}?",
    "option_repeated": "--{option} is given more than once; give it once",
    "size_with_aspect": "--size and --ar cannot be used together; give one of them",
    "needs_value": "{name} needs a value, e.g. --{option} {example}",
    "unclosed_quote": "the quote {quote} after {name} is never closed (at {excerpt}); "
    "put a closing {closer} where the value ends",
    "takes_no_value": "{name} takes no value, got {value}",
    "not_finite": "{name} must be a finite number, got {value}",
    "seed_range": "{name} must be between 0 and {high}, got {value}",
    "one_of_suggest": "{name} must be one of {choices}, got {value}; did you mean {suggestion}?",
    "aspect_format": "{name} must look like 16:9, got {value}",
    "aspect_positive": "{name} needs two positive numbers, like 16:9, got {value}",
    "aspect_range": "{name} must be between 1:{limit} and {limit}:1, got {value}",
    "mix_spec_kind": "each mix item is either a text or a picture",
    "mix_item_empty": "mix item {number} is empty; write the items like: a cat::0.3 | a dog::0.7",
    "mix_picture_number": "pictures are numbered from #1, so mix item {number} cannot be {value}",
    "weight_not_a_number": "the weight of mix item {number} must be a number, got {value}",
    "weight_not_finite": "the weight of mix item {number} must be a finite number, got {value}",
    "weight_negative": "the weight of mix item {number} must be 0 or more, got {weight:g}",
    "picture_label": "{name} takes the numbers of your pictures, like 12 or 12.2 (several "
    "separated by commas), got {value}",
    "batch_format": "{name} must look like 2/4 (the second of 4 pictures made together), "
    "got {value}",
    # -- the commands (bot.commands) ---------------------------------------------
    "no_picture_number": "there is no picture #{number}",
    # -- pictures users send (generation.images): a picture, a mask or a depth map --------
    "picture_empty": "the picture is empty",
    "picture_too_heavy": "the picture is {size:.1f} MB; the limit is {limit:.0f} MB",
    "picture_not_picture": "the picture is not a PNG, JPEG or WebP picture",
    "picture_too_many_pixels": "the picture is too large ({width}x{height} pixels); "
    "the limit is {limit:.0f} megapixels",
    "picture_too_large": "the picture is too large (too many pixels); "
    "the limit is {limit:.0f} megapixels",
    "picture_damaged": "the picture is damaged or cut short; please send it again",
    "mask_empty": "the mask is empty",
    "mask_too_heavy": "the mask is {size:.1f} MB; the limit is {limit:.0f} MB",
    "mask_not_picture": "the mask is not a PNG, JPEG or WebP picture",
    "mask_too_many_pixels": "the mask is too large ({width}x{height} pixels); "
    "the limit is {limit:.0f} megapixels",
    "mask_too_large": "the mask is too large (too many pixels); "
    "the limit is {limit:.0f} megapixels",
    "mask_damaged": "the mask is damaged or cut short; please send it again",
    "depth_map_empty": "the depth map is empty",
    "depth_map_too_heavy": "the depth map is {size:.1f} MB; the limit is {limit:.0f} MB",
    "depth_map_not_picture": "the depth map is not a PNG, JPEG or WebP picture",
    "depth_map_too_many_pixels": "the depth map is too large ({width}x{height} pixels); "
    "the limit is {limit:.0f} megapixels",
    "depth_map_too_large": "the depth map is too large (too many pixels); "
    "the limit is {limit:.0f} megapixels",
    "depth_map_damaged": "the depth map is damaged or cut short; please send it again",
    # -- recipes read back from our PNGs (generation.images) ------------------------------
    "file_not_png": "this file is not a PNG picture",
    "no_recipe": "this PNG carries no Kandinsky bot recipe",
    "recipe_damaged": "this PNG's recipe is damaged",
    # -- the command line (bot.app.cli) --------------------------------------------------------
    "cannot_read": "cannot read {what} {path}: {reason}",
    "recipe_needs_image": "this recipe needs its original picture: pass --image",
    # -- downloads by the chat adapters ----------------------------------------------------
    "download_failed": "I could not download {name}; please attach it again",
    "file_wrong_type": "{name} is {kind}, not a PNG, JPEG or WebP picture",
    "file_unknown_type": "{name} is of an unknown type, not a PNG, JPEG or WebP picture",
    "file_too_big_for_bots": "the file {name} is too large for bots to download",
    "file_over_download_limit": "the file {name} is {size:.1f} MB; I can download files up "
    "to {limit:.0f} MB",
    # -- checkpoints the engine cannot load (generation.engine) ----------------------------
    "model_missing": "Kandinsky {family} is not downloaded here (checkpoint {checkpoint}) and "
    "the model hub cannot be reached: run `kandinsky-bot download-models --models {family}` "
    "where the hub is reachable, or try the tiny offline models with --tiny "
    "(`kandinsky-bot make-tiny-models`)",
    "depth_model_missing": "the depth estimator {checkpoint} is not downloaded here and the "
    "model hub cannot be reached: run `kandinsky-bot download-models --depth` where the hub is "
    "reachable, send a depth map instead, or try the tiny offline models with --tiny",
    "safety_model_missing": "the image safety classifier {checkpoint} is not downloaded here and "
    "the model hub cannot be reached: run `kandinsky-bot download-models` where the hub is "
    "reachable, or set KBOT_SAFETY=prompts to send results unchecked",
}
"""Every error sentence in English: id -> template with `{name}` placeholders."""
