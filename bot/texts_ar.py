"""Arabic messages (keys and placeholders as in `bot.texts.EN`)."""

AR: dict[str, str] = {
    # generation flow
    "queued": "أُضيفت المهمة #{job} إلى قائمة الانتظار: الترتيب {position}، بعد {eta} تقريبًا.",
    "waiting": "المهمة #{job} في الانتظار: الترتيب {position}، بعد {eta} تقريبًا.",
    "started": "جارٍ رسم المهمة #{job}…",
    "progress": "المهمة #{job}: {bar} {done}/{total}",
    "done": "اكتملت المهمة #{job}.",
    "caption": "{prompt}\nالبذرة {seed} · Kandinsky {model} · #{image}",
    "failed": "عذرًا، تعذّر تنفيذ المهمة #{job}: {reason} وقد أُعيدت إليك حصتك.",
    "failed_internal": "حدث خطأ من جهتنا.",
    "failed_interrupted": "أُعيد تشغيل البوت مرتين أثناء تنفيذها.",
    "cancelled": "أُلغيت المهمة #{job} وأُعيدت إليك حصتك.",
    "recovered_requeued": "أُعيد تشغيل البوت، ولا تزال المهمة #{job} في قائمة الانتظار.",
    "recovered_retry": "أُعيد تشغيل البوت أثناء تنفيذ المهمة #{job}، وستُنفَّذ مرة أخرى.",
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
    # user commands
    "history_header": "صورك، الصفحة {page} من {pages}:",
    "history_line": "#{id} · {prompt} · البذرة {seed} · Kandinsky {model}",
    "history_empty": "ليست لديك صور بعد. جرّب /imagine منارة عند الغسق",
    "recipe": (
        "الصورة #{id}: {task}، Kandinsky {model}، {width}x{height}، البذرة {seed}، "
        "الخطوات {steps}، التوجيه {guidance}، المُجدوِل {scheduler}.\n"
        "الوصف: {prompt}\nالوصف السلبي: {negative}\nللتكرار: /imagine {again}"
    ),
    "quota_status": (
        "الصور المستخدمة اليوم: {used} من {limit}، والرصيد الإضافي: {extra}؛ "
        "المتبقي: {remaining}. يتجدد الرصيد بعد {reset}."
    ),
    "queue_status_line": "المهمة #{job}: الترتيب {position}، بعد {eta} تقريبًا.",
    "queue_status_running": "جارٍ رسم المهمة #{job} الآن.",
    "queue_empty": "ليست لديك مهام في قائمة الانتظار.",
    "cancel_none": "ليست لديك مهمة في الانتظار لإلغائها.",
    "cancel_not_yours": "المهمة #{job} ليست لك، فلا يمكنك إلغاؤها.",
    "cancel_too_late": "اكتملت المهمة #{job} بالفعل.",
    "settings_show": (
        "إعداداتك الافتراضية: النموذج {model}، الحجم {size}، الخطوات {steps}، "
        "الوصف السلبي: {negative}، اللغة {language}.\nلتغييرها: "
        '/settings --model 3 --size 768x512 --steps 30 --neg "blurry"، أو /settings reset.'
    ),
    "settings_saved": "تم الحفظ.",
    "language_set": "سأتحدث معك بالعربية.",
    "language_unknown": "أتحدث en (الإنجليزية) و ru (الروسية) و ar (العربية).",
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
    # admin
    "not_admin": "هذا الأمر متاح للمشرفين فقط.",
    "admin_usage": (
        "أوامر المشرفين: ban المستخدم [السبب]، unban المستخدم، "
        "quota set|grant|reset المستخدم [N]، stats، queue، cancel المهمة، "
        "pause [الرسالة]، resume، models، preload النموذج، unload [النموذج]، audit [N]. "
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
    "admin_models": "النماذج المحمّلة: {loaded}. المتاحة: {available}.",
    "admin_preloaded": "تم تحميل Kandinsky {model}.",
    "admin_unloaded": "عدد خطوط المعالجة التي أُزيلت من الذاكرة: {count}.",
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
        "/history، /show الرقم، /reroll الرقم، /variations الرقم، /init الرقم، /settings، "
        "/quota، /queue، /cancel، /language، /link، /help الأمر\n"
        "الخيارات: --model 2.1|2.2|3 --size 768x512 --ar 16:9 --seed 42 --steps 30 --cfg 4 "
        '--prior-cfg 4 --strength 0.6 --neg "..." --scheduler ddim --n 2'
    ),
    "help_imagine": (
        "/imagine الوصف [خيارات]: رسم صورة. مثال: /imagine منارة عند الغسق --ar 16:9 --seed 42"
    ),
    "help_img2img": (
        "/img2img الوصف [--strength 0.6]: أرسله مع صورة (أو ردًّا على صورة). "
        "مثال: /img2img لوحة بالألوان المائية --strength 0.5"
    ),
    "help_inpaint": (
        "/inpaint الوصف: أرسل صورة وقناعًا (الأبيض = يُعاد رسمه)، أو صورة PNG شفافة كملف. "
        "مثال: /inpaint باب أحمر"
    ),
    "help_mix": (
        "/mix عنصر | عنصر: مزج النصوص والصور المرفقة (#1، #2) بأوزان. مثال: /mix قطة::0.3 | #1::0.7"
    ),
    "help_depth": (
        "/depth الوصف [--init]: الحفاظ على شكل الصورة المرفقة (ControlNet depth، "
        "Kandinsky 2.2)؛ ومع --init يبدأ الرسم منها أيضًا. مثال: /depth برج حجري"
    ),
    "help_reroll": "/reroll الرقم: الإعدادات نفسها ببذرة جديدة. مثال: /reroll 12",
    "help_variations": "/variations الرقم: نسخ مختلفة من إحدى صورك. مثال: /variations 12",
    "help_init": "/init الرقم: استخدام صورة كنقطة بداية لأمرك التالي.",
    "help_history": "/history [الصفحة]: صورك مع أرقامها.",
    "help_show": "/show الرقم: الإعدادات التي أُنشئت بها الصورة.",
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
}
