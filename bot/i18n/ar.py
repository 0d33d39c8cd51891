"""Arabic messages (keys and placeholders as in `bot.i18n.catalogue.EN` and
`generation.messages`)."""

AR: dict[str, str] = {
    # generation flow
    "queued": "أُضيفت المهمة #{job} إلى قائمة الانتظار: الترتيب {position}، بعد {eta} تقريبًا.",
    "waiting": "المهمة #{job} في الانتظار: الترتيب {position}، بعد {eta} تقريبًا.",
    "started": "جارٍ رسم المهمة #{job}…",
    "queued_video": (
        "أُضيفت المهمة #{job} إلى قائمة الانتظار، فيديو مقابل {cost} من الرصيد: "
        "الترتيب {position}، بعد {eta} تقريبًا."
    ),
    "progress": "المهمة #{job}: {bar} {done}/{total}",
    "progress_encoding": "المهمة #{job}: {bar} {done}/{total}، جارٍ ترميز الفيديو…",
    "video_too_large": (
        "الفيديو #{id} لا يتسع حتى بعد تصغيره للحد {limit:.1f} ميغابايت الذي تقبله هذه "
        "المحادثة؛ وهو محفوظ في /history، ويعرض /show {id} وصفته."
    ),
    "done": "اكتملت المهمة #{job}.",
    "caption": "{prompt}\nالبذرة {seed} · Kandinsky {model} · {images}",
    "failed": "عذرًا، تعذّر تنفيذ المهمة #{job}: {reason} وقد أُعيدت إليك حصتك.",
    "failed_internal": "حدث خطأ من جهتنا.",
    "failed_interrupted": "أُعيد تشغيل البوت مرتين أثناء تنفيذها.",
    "cancelled": "أُلغيت المهمة #{job} وأُعيدت إليك حصتك.",
    "recovered_requeued": "أُعيد تشغيل البوت، ولا تزال المهمة #{job} في قائمة الانتظار.",
    "recovered_retry": "أُعيد تشغيل البوت أثناء تنفيذ المهمة #{job}، وستُنفَّذ مرة أخرى.",
    "undelivered_results": "نتائج تعذّر إرسالها إليك: {count}. تجدها في /history.",
    # refusals
    "quota_exhausted": (
        "لم يتبقَّ لك رصيد من الصور اليوم (الحد اليومي: {limit})؛ يتجدد الرصيد بعد {reset}."
    ),
    "queue_full": (
        "قائمة الانتظار ممتلئة حاليًا (عدد المهام: {size}). يُرجى المحاولة مجددًا بعد بضع دقائق."
    ),
    "user_queue_full": (
        "لديك بالفعل مهام في الانتظار: {count} (الحد الأقصى: {limit}). "
        "يُرجى الانتظار حتى تكتمل إحداها."
    ),
    "banned": "لا يمكنك استخدام هذا البوت. السبب: {reason}",
    "paused": "لا يستقبل البوت مهام جديدة حاليًا: {message}",
    "bad_input": "{error}",
    "need_picture": "يُرجى إرفاق صورة أو الرد على صورة لاستخدام /{command}.",
    "need_mask": (
        "يُرجى إرفاق قناع (الأبيض = يُعاد رسمه) كصورة ثانية، أو إرسال صورة PNG شفافة كملف."
    ),
    "unknown_command": "لا أعرف الأمر /{command}. يمكنك تجربة /help.",
    "unknown_command_suggest": "لا أعرف الأمر /{command}. هل تقصد /{suggestion}؟",
    "error": "حدث خطأ من جهتنا؛ يُرجى المحاولة مجددًا بعد قليل.",
    "not_found_image": "لا توجد صورة بالرقم #{id}.",
    "not_found_job": "لا توجد مهمة بالرقم #{id}.",
    "need_id": "يُرجى تحديد الرقم، مثلًا: /{command} 12.",
    "init_picture_missing": "لا تحتوي هذه الرسالة على صورة PNG أو JPEG أو WebP للبدء منها.",
    "upload_too_large": (
        "الصورة #{id} أكبر من أن تُرفع هنا (الحد الأقصى {limit:.1f} ميغابايت)؛ "
        "تجد إعداداتها في /show {id}."
    ),
    # durations (queue estimates, quota resets)
    "duration_seconds": "{n} ث",
    "duration_minutes": "{n} د",
    "duration_hours": "{n} س",
    # user commands
    "history_header": "صورك، الصفحة {page} من {pages}:",
    "history_line": "#{id} · {prompt} · البذرة {seed} · Kandinsky {model}",
    "history_empty": "ليست لديك صور بعد. جرّب /imagine منارة عند الغسق",
    "history_no_page": "لا توجد صفحة {page}. آخر صفحة من صورك هي {pages}: /history {pages}",
    "recipe": (
        "الصورة #{id}: {task}، Kandinsky {model}، {width}x{height}، البذرة {seed}، "
        "الخطوات {steps}، التوجيه {guidance}، المُجدوِل {scheduler}.\n"
        "الوصف: {prompt}\nالوصف السلبي: {negative}\nللتكرار: {again}"
    ),
    "quota_status": (
        "الصور المستخدمة اليوم: {used} من {limit}، والرصيد الإضافي: {extra}؛ "
        "المتبقي: {remaining}. يتجدد الرصيد بعد {reset}."
    ),
    "queue_status_line": "المهمة #{job}: الترتيب {position}، بعد {eta} تقريبًا.",
    "queue_status_running": "جارٍ رسم المهمة #{job} الآن.",
    "queue_empty": "ليست لديك مهام في قائمة الانتظار.",
    "cancel_none": "ليست لديك مهمة في الانتظار لإلغائها.",
    "cancel_running": "المهمة #{job} قيد التنفيذ؛ ستتوقف عند خطوتها التالية وتُعاد إليك حصتك.",
    "cancel_too_late": "اكتملت المهمة #{job} بالفعل.",
    "settings_show": (
        "إعداداتك الافتراضية: النموذج {model}، الحجم {size}، الخطوات {steps}، "
        "الوصف السلبي: {negative}، اللغة {language}.\nلتغييرها: "
        '/settings --model 3 --size 768x512 --steps 30 --neg "blurry"، أو /settings reset.'
    ),
    "settings_saved": "تم الحفظ.",
    "language_set": "سأتحدث معك بالعربية.",
    "language_unknown": "أتحدث en (الإنجليزية) و ru (الروسية) و ar (العربية).",
    "edit_need_picture": (
        "أي صورة تريد تعديلها بالأمر /edit؟ أرسل صورة مع التعليق /edit اجعلها ليلًا، أو ردّ على "
        "صورة (أو على إحدى نتائجي) بالأمر /edit اجعلها ليلًا، أو اذكر رقم إحدى صورك: "
        "/edit #12 اجعلها ليلًا. في Discord: خيار image في /edit، أو Apps ← Edit this image "
        "في قائمة الرسالة."
    ),
    "edit_need_instruction": "اكتب بعد /edit ما تريد تغييره، مثلًا: /edit اجعلها ليلًا",
    "edit_ask": (
        "{mark} ما الذي تريد تغييره في هذه الصورة؟ اكتبه ردًّا على هذه الرسالة، مثلًا: اجعلها ليلًا"
    ),
    "edit_modal_title": "ما الذي تريد تغييره؟",
    "edit_modal_label": "التعليمات",
    "edit_modal_example": "اجعلها ليلًا، وأبقِ الباقي كما هو",
    "init_set": "ستكون الصورة #{id} نقطة البداية لأمرك التالي: /img2img أو /inpaint أو /depth.",
    "link_code": "رمز الربط الخاص بك هو {code}. خلال {minutes} دقيقة أرسل /link {code} من "
    "حسابك على المنصة الأخرى لدمج الحسابين: حصة واحدة وسجل واحد وإعدادات واحدة.",
    "link_done": "تم الربط. أصبح الحسابان حسابًا واحدًا (المستخدم #{user}): حصة واحدة وسجل واحد.",
    "link_bad": "رمز الربط هذا غير صحيح أو منتهي الصلاحية. أرسل /link من حسابك الآخر للحصول على "
    "رمز جديد.",
    "init_set_picture": "ستكون هذه الصورة صورة البداية لأمرك التالي /img2img أو /inpaint أو "
    "/depth.",
    "none": "لا يوجد",
    "default": "افتراضي",
    # content filter
    "prompt_refused": "عذرًا، لا أستطيع رسم هذا الطلب هنا: فهو يطلب شيئًا لا يصنعه هذا البوت. "
    "لم يُخصم شيء من حصتك.",
    "flagged_note": "⚠️ أشّر فحص الأمان على {images}: اضغط لإظهارها.",
    "flagged_held": "المهمة #{job}: حجب فحص الأمان {images} ولم تُرسل هنا. "
    "تبقى في /history، وقد يفرج عنها مشرف.",
    "flagged_cleared": "راجع مشرف {images} وأفرج عنها.",
    "history_flagged": " · ⚠️",
    "report_done": "شكرًا لك: أُبلغ المشرفون عن الصورة #{id}.",
    "admin_filter_added": "أصبح مرشح الطلبات يضم هذه الكلمة.",
    "admin_filter_exists": "مرشح الطلبات يضم هذه الكلمة بالفعل.",
    "admin_filter_removed": "لم تعد هذه الكلمة في المرشح.",
    "admin_filter_missing": "مرشح الطلبات لا يضم هذه الكلمة.",
    "admin_filter_list": "كلمات المرشح: {words}. القائمة المدمجة: {defaults}.",
    "admin_filter_defaults": "القائمة المدمجة: {state}.",
    "admin_on": "مفعّلة",
    "admin_off": "معطّلة",
    "admin_policy": "الصور المؤشَّر عليها هنا: {policy}.",
    "admin_policy_allow_refused": "لا يمكن عرض الصور المؤشَّر عليها بوضوح إلا في قناة Discord "
    "مقيّدة بالعمر.",
    "admin_flagged_line": "{flag} · {at} · {kind} · المستخدم #{user} · {place}{what} · {status}",
    "admin_flagged_empty": "لم يُؤشَّر على شيء.",
    "admin_flag_missing": "لا يوجد إدخال مفتوح {flag}.",
    "admin_flag_cleared": "أُغلق الإدخال {flag}؛ تذهب صورته إلى صاحبها.",
    "admin_flag_banned": "الإدخال {flag}: حُظر المستخدم #{user}.",
    # admin
    "not_admin": "هذا الأمر متاح للمشرفين فقط.",
    "admin_usage": (
        "أوامر المشرفين: ban المستخدم [السبب]، unban المستخدم، "
        "quota set|grant|reset المستخدم [N]، stats، queue، cancel المهمة، "
        "pause [الرسالة]، resume، models، preload النموذج، unload [النموذج]، audit [N]، "
        "filter add|remove الكلمات، filter list، filter defaults on|off، "
        "policy [allow|spoiler|block]، flagged [N]، flagged clear|ban الإدخال. "
        "المستخدم هو platform:id أو #رقم."
    ),
    "admin_no_user": "لا أعرف المستخدم {user}.",
    "admin_banned": "تم حظر المستخدم #{user}: {reason}",
    "admin_unbanned": "رُفع الحظر عن المستخدم #{user}.",
    "admin_quota": "المستخدم #{user}: استخدم اليوم {used} من {limit}، ولديه رصيد إضافي: {extra}.",
    "admin_stats": (
        "المستخدمون: {users}. المهام: {jobs}. صور اليوم: {images}. "
        "الانتظار p50/p95: {wait}. التنفيذ p50/p95: {run}."
    ),
    "admin_queue_line": "#{job} · {status} · المستخدم #{user} · {prompt}",
    "admin_queue_empty": "قائمة الانتظار فارغة.",
    "admin_cancelled": "أُلغيت المهمة #{job}.",
    "admin_paused": "أُوقف استقبال المهام مؤقتًا: {message}",
    "admin_resumed": "استُؤنف استقبال المهام.",
    "admin_models": "النماذج المتاحة: {available}.",
    "admin_models_worker": "{worker} ({device})، يخدم {families}: {loaded}",
    "admin_models_none": "لا يعمل أي عامل حاليًا.",
    "admin_nothing": "لا شيء",
    "admin_preloaded": "{worker}: تم تحميل Kandinsky {model}؛ في الذاكرة: {loaded}.",
    "admin_preload_failed": "{worker}: تعذّر تحميل Kandinsky {model}: {error}",
    "admin_unloaded": "{worker}: أُزيل من الذاكرة {count} من خطوط المعالجة؛ في الذاكرة: {loaded}.",
    "admin_unload_failed": "{worker}: تعذّرت الإزالة من الذاكرة: {error}",
    "admin_no_worker_for": "لا يوجد عامل قيد التشغيل يخدم Kandinsky {model}.",
    "admin_silent": "لم يصل رد بعد من: {workers} (ما زالت تعمل أو توقفت).",
    "admin_audit_line": "{at} · {actor} · {what} · {allowed}",
    "admin_audit_empty": "سجل التدقيق فارغ.",
    "admin_allowed": "تم",
    "admin_refused": "مرفوض",
    "pause_default": "صيانة",
    # help
    "help": (
        "أرسم الصور باستخدام Kandinsky. الأوامر:\n"
        "/imagine الوصف: رسم صورة\n"
        "/img2img (مع صورة) الوصف: إعادة رسمها\n"
        "/inpaint (صورة + قناع) الوصف: إعادة رسم الجزء الأبيض\n"
        "/mix قطة::0.3 | #1::0.7: مزج النصوص والصور\n"
        "/depth (مع صورة) الوصف: الحفاظ على شكلها\n"
        "/edit (مع صورة) التعليمات: تعديلها كما تقول (Kandinsky 5)\n"
        "/animate الوصف: فيديو قصير (مع صورة: تحريكها)\n"
        "/history، /show الرقم، /reroll الرقم، /variations الرقم، /init الرقم، /settings، "
        "/quota، /queue، /cancel، /language، /link، /help الأمر\n"
        "الخيارات: --model {models} --size 768x512 --ar 16:9 --seed 42 --steps 30 --cfg 4 "
        '--prior-cfg 4 --strength 0.6 --neg "..." --scheduler ddim --n 2 --from 12 '
        "--seconds 5 --fps 24 --fast\n"
        "الصورة #12 هي ما أنشأته المهمة #12 (#12.1 و#12.2 إن أنشأت أكثر من صورة)؛ "
        "و--from 12 يبدأ منها."
    ),
    "help_imagine": (
        "/imagine الوصف [خيارات]: رسم صورة. مثال: /imagine منارة عند الغسق --ar 16:9 --seed 42"
    ),
    "help_img2img": (
        "/img2img الوصف [--strength 0.6]: أرسله مع صورة (أو ردًّا على صورة، "
        "أو اختر إحدى صورك بـ --from 12). مثال: /img2img لوحة بالألوان المائية --strength 0.5"
    ),
    "help_inpaint": (
        "/inpaint الوصف: أرسل صورة وقناعًا (الأبيض = يُعاد رسمه)، أو صورة PNG شفافة كملف؛ "
        "ويحدد --from 12,14.in صورًا محفوظة (الصورة ثم القناع). مثال: /inpaint باب أحمر"
    ),
    "help_mix": (
        "/mix عنصر | عنصر: مزج النصوص والصور المرفقة (#1، #2) بأوزان. مثال: /mix قطة::0.3 | #1::0.7"
    ),
    "help_depth": (
        "/depth الوصف [--init]: الحفاظ على شكل الصورة المرفقة (ControlNet depth، "
        "Kandinsky 2.2)؛ ومع --init يبدأ الرسم منها أيضًا. مثال: /depth برج حجري"
    ),
    "help_edit": (
        "/edit التعليمات: تعديل صورة كما تقول (Kandinsky 5). أرسله مع صورة، أو ردًّا على صورة "
        "أو على إحدى نتائجي، أو اذكر رقم إحدى صورك: /edit #12 اجعلها ليلًا. يسألك الزر ✏️ تحت "
        "النتيجة عمّا تريد تغييره. مثال: /edit اجعلها ليلًا"
    ),
    "help_animate": (
        "/animate الوصف [--seconds 5|10] [--fps 24] [--fast]: فيديو قصير (Kandinsky 5 Video)؛ "
        "أرسله مع صورة (أو ردًّا عليها، أو مع --from 12) لتحريكها. الفيديو أغلى من الصورة. "
        "مثال: /animate قارب ورقي على نهر"
    ),
    "help_reroll": "/reroll الرقم: الإعدادات نفسها ببذرة جديدة. مثال: /reroll 12",
    "help_variations": "/variations الرقم: نسخ مختلفة من إحدى صورك. مثال: /variations 12",
    "help_init": "/init الرقم: استخدام صورة كنقطة بداية لأمرك التالي.",
    "help_history": (
        "/history [الصفحة]: صورك مع أرقامها (#12، أو #12.2 للصورة الثانية من عدة صور "
        "أنشأتها المهمة #12)."
    ),
    "help_show": (
        "/show الرقم: الإعدادات التي أُنشئت بها الصورة، والأمر الذي يعيد إنشاءها "
        "(12.in هي الصورة التي أرسلتها مع المهمة #12). مثال: /show 12"
    ),
    "help_settings": (
        '/settings [--model 3] [--size 768x512] [--steps 30] [--neg "..."] '
        "أو /settings reset: إعداداتك الافتراضية."
    ),
    "help_quota": "/quota: عدد الصور المتبقية لك اليوم.",
    "help_queue": "/queue: موقع مهامك في قائمة الانتظار.",
    "help_cancel": "/cancel [المهمة]: إلغاء مهمتك المنتظرة.",
    "help_language": "/language en|ru|ar: اللغة التي أتحدث بها معك.",
    "help_admin": "/admin ...: أوامر المشرفين.",
    "help_help": "/help [الأمر]: ما الذي أستطيع فعله.",
    "help_link": "/link ثم /link الرمز على منصتك الأخرى: حصة وسجل مشتركان للحسابين.",
    "console_ready": "بوت Kandinsky {version} جاهز: اكتب أمرًا.",
    "console_defaults": (
        "يُرسم الوصف بـ{model} بحجم {size} وعدد الخطوات {steps} ما لم تحدد غير ذلك "
        "(--size 768x512 --steps 30 أو /settings)."
    ),
    "console_defaults_cpu": (
        "لا يوجد معالج رسومي هنا، لذا يُرسم الوصف بـ{model} بحجم {size} وعدد الخطوات {steps}: "
        "صورة في ثوانٍ. يغيّر ذلك الخياران (--size 768x512 --steps 30) أو /settings."
    ),
    "console_places": "تُحفظ الصور في {pictures}؛ وقاعدة البيانات ونسخها من الصور في {data}.",
    "console_help": (
        "في هذه الطرفية: السطر المكوّن من كلمتين أو أكثر بلا أمر وصفٌ للأمر /imagine؛ "
        'واسم الملف يُرفق تلك الصورة (بين علامتي تنصيص إن كان فيه مسافات: "my photo.png")؛ '
        "والرقم يضغط زرًا من أزرار آخر نتيجة. /quit أو Ctrl-D للخروج بعد انتهاء المهام؛ "
        "وCtrl-C للإيقاف فورًا مع إلغاء المهام."
    ),
    "console_one_word": (
        "«{word}» ليس أمرًا، وكلمة واحدة لا تكفي وصفًا. اكتب /help لرؤية الأوامر، "
        "أو /imagine {word} لرسمها."
    ),
    "console_needs_slash": "تبدأ الأوامر بشرطة مائلة: /{command}. اكتب /help لرؤيتها كلها.",
    "console_no_file": (
        "لا يوجد ملف باسم {name}. تحقّق من الاسم؛ وضع الاسم الذي فيه مسافات بين علامتي "
        'تنصيص: "my photo.png".'
    ),
    "console_cannot_read": "تعذّرت قراءة الملف {name}: {reason}.",
    "console_stopping": "جارٍ الإيقاف: أُلغيت مهامك. اضغط Ctrl-C مرة أخرى للخروج فورًا.",
}

AR_ERRORS: dict[str, str] = {
    # the request model
    "k3_no_inpainting": (
        "لا يدعم Kandinsky 3 إعادة رسم جزء من الصورة (inpainting)؛ جرّب النموذج 2.2"
    ),
    "k3_no_mix": "لا يحتوي Kandinsky 3 على prior، لذا لا يمكنه المزج؛ جرّب النموذج 2.2",
    "depth_only_k22": "ControlNet للعمق متاح فقط في Kandinsky 2.2؛ جرّب النموذج 2.2",
    "k5_use_edit": (
        "يغيّر Kandinsky 5 الصورة وفق تعليمات لا وفق strength: استخدم /edit (المهمة edit) "
        "واكتب ما تريد تغييره"
    ),
    "k5_no_inpainting": (
        "لا يدعم Kandinsky 5 إعادة الرسم بقناع (inpainting)؛ اكتب ما تريد تغييره مع /edit، "
        "أو جرّب النموذج 2.2 مع قناع"
    ),
    "k5_no_mix": "لا يحتوي Kandinsky 5 على prior، لذا لا يمكنه المزج؛ جرّب النموذج 2.2",
    "animate_only_5v": "يرسم Kandinsky {model} صورًا لا مقاطع فيديو؛ يستخدم /animate النموذج {able}",
    "video_only": ("يصنع Kandinsky {model} مقاطع فيديو فقط: استخدم /animate، أو النموذج 5 للصور"),
    "video_image_length": (
        "يحرّك Kandinsky {model} الصورة لمدة 5 ثوانٍ فقط؛ احذف --seconds {seconds}"
    ),
    "video_image_no_fast": "ليس لدى Kandinsky {model} نسخة سريعة لتحريك صورة؛ احذف --fast",
    "video_image_frames": (
        "تحريك صورة يحتاج إلى {low} إطارًا على الأقل، وهذه الإعدادات تعطي {frames}؛ ارفع --fps"
    ),
    "video_not_picture": (
        "#{id} مقطع فيديو، و/{command} يبدأ من صورة: أرفق صورة أو اذكر رقم إحدى صورك"
    ),
    "edit_elsewhere": "لا يستطيع Kandinsky {model} التعديل وفق تعليمات؛ جرّب النموذج {able}",
    "edit_no_strength": "لا تأخذ edit قيمة strength: التعليمات تحدد ما يتغيّر؛ احذف --strength",
    "scheduler_for_model": (
        "يعمل Kandinsky {model} مع المُجدوِل {choices} فقط؛ القيمة المُدخلة: {value}"
    ),
    "size_not_listed": (
        "يصنع Kandinsky {model} هذه الأحجام فقط: {sizes}؛ القيمة المُدخلة: --size {value} "
        "(يختار --ar أقربها)"
    ),
    "mix_item_kind": "كل عنصر في المزج إما نص وإما صورة",
    "one_of": "يجب أن تكون قيمة {name} إحدى القيم: {choices}؛ القيمة المُدخلة: {value}",
    "not_text": "يجب أن تكون قيمة {name} نصًا",
    "too_long": "قيمة {name} طويلة جدًا: عدد الأحرف {length}، والحد الأقصى {limit}",
    "no_nul": "يجب ألا تحتوي قيمة {name} على محارف NUL",
    "prompt_empty": "يجب ألا يكون الوصف فارغًا",
    "whole_number": "يجب أن تكون قيمة {name} عددًا صحيحًا؛ القيمة المُدخلة: {value}",
    "not_a_number": "يجب أن تكون قيمة {name} عددًا؛ القيمة المُدخلة: {value}",
    "between": "يجب أن تكون قيمة {name} بين {low} و{high}؛ القيمة المُدخلة: {value}",
    "size_sides_multiple": "--size {size}: يجب أن يكون كلا البعدين من مضاعفات {multiple}، "
    "و{value} ليس كذلك",
    "size_sides_between": "--size {size}: يجب أن يكون كلا البعدين بين {low} و{high} بكسل، "
    "و{value} ليس كذلك",
    "size_pixels": "--size {width}x{height} يتجاوز الحد الأقصى لعدد البكسلات ({limit})",
    "size_format": "يجب أن تكون قيمة {name} بصيغة 768x512؛ القيمة المُدخلة: {value}",
    "size_positive": "يجب أن تكون أبعاد الصورة موجبة",
    "no_denoising_step": (
        "مع strength = {strength} وعدد خطوات = {steps} لن تُنفَّذ أي خطوة لإزالة التشويش؛ "
        "ارفع قيمة strength أو عدد الخطوات"
    ),
    "needs_picture": "يحتاج {task} إلى صورة يبدأ منها",
    "inpaint_needs_mask": "يحتاج inpaint إلى قناع (الأبيض = يُعاد رسمه) أو صورة PNG شفافة",
    "depth_needs_input": "يحتاج depth إلى صورة أو خريطة عمق",
    "depth_img2img_needs_picture": "يحتاج depth في وضع «صورة إلى صورة» إلى صورة",
    "mix_only": "عناصر المزج تُستخدم مع mix فقط، وليس مع {task}",
    "mix_too_few": "يحتاج المزج إلى عنصرين على الأقل؛ العدد المُدخل: {count}",
    "mix_too_many": "عدد عناصر المزج كبير جدًا: {count}، والحد الأقصى {limit}",
    "mix_text_too_long": "أحد نصوص المزج أطول من الحد المسموح لطول الوصف",
    "mix_weights_zero": "لا يجوز أن تكون جميع أوزان المزج صفرًا",
    "batch_range": (
        "يجب أن يحدد --batch صورة من {limit} صورة على الأكثر أُنشئت معًا، مثل 2/4؛ "
        "القيمة المُدخلة: {value}"
    ),
    "batch_one_image": "يعيد --batch إنشاء صورة واحدة؛ احذف --n",
    # the option grammar
    "unknown_option": "خيار غير معروف {option}؛ الخيارات المتاحة: {options}",
    "unknown_option_suggest": "خيار غير معروف {option}؛ هل تقصد --{suggestion}؟",
    "option_repeated": "الخيار --{option} مذكور أكثر من مرة؛ اذكره مرة واحدة فقط",
    "size_with_aspect": "لا يمكن استخدام --size مع --ar في الوقت نفسه؛ استخدم أحدهما فقط",
    "needs_value": "يحتاج {name} إلى قيمة، مثلًا: --{option} {example}",
    "unclosed_quote": (
        "علامة الاقتباس {quote} بعد {name} غير مغلقة (عند {excerpt})؛ "
        "ضع علامة الإغلاق {closer} حيث تنتهي القيمة"
    ),
    "takes_no_value": "لا يأخذ {name} أي قيمة؛ القيمة المُدخلة: {value}",
    "not_finite": "يجب أن تكون قيمة {name} عددًا منتهيًا؛ القيمة المُدخلة: {value}",
    "seed_range": "يجب أن تكون قيمة {name} بين 0 و{high}؛ القيمة المُدخلة: {value}",
    "one_of_suggest": (
        "يجب أن تكون قيمة {name} إحدى القيم: {choices}؛ القيمة المُدخلة: {value}. "
        "هل تقصد {suggestion}؟"
    ),
    "aspect_format": "يجب أن تكون قيمة {name} بصيغة 16:9؛ القيمة المُدخلة: {value}",
    "aspect_positive": "يحتاج {name} إلى عددين موجبين، مثل 16:9؛ القيمة المُدخلة: {value}",
    "aspect_range": ("يجب أن تكون قيمة {name} بين 1:{limit} و{limit}:1؛ القيمة المُدخلة: {value}"),
    "mix_spec_kind": "كل عنصر في المزج إما نص وإما صورة",
    "mix_item_empty": "عنصر المزج رقم {number} فارغ؛ اكتب العناصر هكذا: قطة::0.3 | كلب::0.7",
    "mix_picture_number": (
        "تُرقَّم الصور بدءًا من #1، لذا لا يمكن أن يكون عنصر المزج رقم {number} هو {value}"
    ),
    "weight_not_a_number": (
        "يجب أن يكون وزن عنصر المزج رقم {number} عددًا؛ القيمة المُدخلة: {value}"
    ),
    "weight_not_finite": (
        "يجب أن يكون وزن عنصر المزج رقم {number} عددًا منتهيًا؛ القيمة المُدخلة: {value}"
    ),
    "weight_negative": (
        "يجب أن يكون وزن عنصر المزج رقم {number} صفرًا أو أكثر؛ القيمة المُدخلة: {weight:g}"
    ),
    "picture_label": (
        "يأخذ {name} أرقام صورك، مثل 12 أو 12.2 (وعدة أرقام تفصل بينها فواصل)؛ "
        "القيمة المُدخلة: {value}"
    ),
    "batch_format": (
        "يجب أن تكون قيمة {name} بصيغة 2/4 (الصورة الثانية من 4 صور أُنشئت معًا)؛ "
        "القيمة المُدخلة: {value}"
    ),
    # the commands
    "no_picture_number": "لا توجد صورة بالرقم #{number}",
    # pictures users send
    "picture_empty": "ملف الصورة فارغ",
    "picture_too_heavy": "حجم الصورة {size:.1f} ميغابايت؛ والحد الأقصى {limit:.0f} ميغابايت",
    "picture_not_picture": "الصورة ليست بصيغة PNG أو JPEG أو WebP",
    "picture_too_many_pixels": (
        "الصورة كبيرة جدًا ({width}x{height} بكسل)؛ والحد الأقصى {limit:.0f} ميغابكسل"
    ),
    "picture_too_large": (
        "الصورة كبيرة جدًا (عدد البكسلات كبير جدًا)؛ والحد الأقصى {limit:.0f} ميغابكسل"
    ),
    "picture_damaged": "الصورة تالفة أو غير مكتملة؛ يُرجى إرسالها مجددًا",
    "mask_empty": "ملف القناع فارغ",
    "mask_too_heavy": "حجم القناع {size:.1f} ميغابايت؛ والحد الأقصى {limit:.0f} ميغابايت",
    "mask_not_picture": "القناع ليس بصيغة PNG أو JPEG أو WebP",
    "mask_too_many_pixels": (
        "القناع كبير جدًا ({width}x{height} بكسل)؛ والحد الأقصى {limit:.0f} ميغابكسل"
    ),
    "mask_too_large": (
        "القناع كبير جدًا (عدد البكسلات كبير جدًا)؛ والحد الأقصى {limit:.0f} ميغابكسل"
    ),
    "mask_damaged": "القناع تالف أو غير مكتمل؛ يُرجى إرساله مجددًا",
    "depth_map_empty": "ملف خريطة العمق فارغ",
    "depth_map_too_heavy": (
        "حجم خريطة العمق {size:.1f} ميغابايت؛ والحد الأقصى {limit:.0f} ميغابايت"
    ),
    "depth_map_not_picture": "خريطة العمق ليست بصيغة PNG أو JPEG أو WebP",
    "depth_map_too_many_pixels": (
        "خريطة العمق كبيرة جدًا ({width}x{height} بكسل)؛ والحد الأقصى {limit:.0f} ميغابكسل"
    ),
    "depth_map_too_large": (
        "خريطة العمق كبيرة جدًا (عدد البكسلات كبير جدًا)؛ والحد الأقصى {limit:.0f} ميغابكسل"
    ),
    "depth_map_damaged": "خريطة العمق تالفة أو غير مكتملة؛ يُرجى إرسالها مجددًا",
    # recipes read back from our PNGs
    "file_not_png": "هذا الملف ليس صورة PNG",
    "no_recipe": "لا تحتوي صورة PNG هذه على إعدادات إنشاء من بوت Kandinsky",
    "recipe_damaged": "إعدادات الإنشاء في صورة PNG هذه تالفة",
    # the command line
    "cannot_read": "تعذّرت قراءة {what} {path}: {reason}",
    "recipe_needs_image": "تحتاج هذه الإعدادات إلى الصورة الأصلية: استخدم --image",
    # downloads by the chat adapters
    "download_failed": "تعذّر تنزيل {name}؛ يُرجى إرفاقه مجددًا",
    "file_wrong_type": "نوع الملف {name} هو {kind}، وليس صورة PNG أو JPEG أو WebP",
    "file_unknown_type": "نوع الملف {name} غير معروف، وليس صورة PNG أو JPEG أو WebP",
    "file_too_big_for_bots": "الملف {name} أكبر من أن تنزّله البوتات",
    "file_over_download_limit": (
        "حجم الملف {name} هو {size:.1f} ميغابايت؛ يمكنني تنزيل ملفات حتى {limit:.0f} ميغابايت"
    ),
    # checkpoints the engine cannot load
    "model_missing": (
        "لم يُنزَّل Kandinsky {family} هنا (نقطة الحفظ {checkpoint}) ولا يمكن الوصول إلى مستودع "
        "النماذج: شغّل `kandinsky-bot download-models --models {family}` حيث يمكن الوصول إليه، "
        "أو جرّب النماذج الصغيرة دون اتصال باستخدام --tiny (`kandinsky-bot make-tiny-models`)"
    ),
    "depth_model_missing": (
        "لم يُنزَّل مقدّر العمق {checkpoint} هنا ولا يمكن الوصول إلى مستودع النماذج: شغّل "
        "`kandinsky-bot download-models --depth` حيث يمكن الوصول إليه، أو أرسل خريطة عمق جاهزة، "
        "أو جرّب النماذج الصغيرة دون اتصال باستخدام --tiny"
    ),
    "safety_model_missing": (
        "لم يُنزَّل مصنّف أمان الصور {checkpoint} هنا ولا يمكن الوصول إلى مستودع النماذج: شغّل "
        "`kandinsky-bot download-models` حيث يمكن الوصول إليه، أو اضبط KBOT_SAFETY=prompts "
        "لإرسال النتائج دون فحص"
    ),
}
"""Arabic error sentences, by `generation.messages.ERRORS` id."""
