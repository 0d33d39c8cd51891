"""Russian messages (keys and placeholders as in `bot.i18n.catalogue.EN` and
`generation.messages`)."""

RU: dict[str, str] = {
    # generation flow
    "queued": "Задание #{job} в очереди: место {position}, примерно {eta}.",
    "waiting": "Задание #{job} ждёт: место в очереди {position}, примерно {eta}.",
    "started": "Задание #{job}: рисую…",
    "queued_video": (
        "Задание #{job} в очереди, видео за {cost} кредитов: место {position}, примерно {eta}."
    ),
    "progress": "Задание #{job}: {bar} {done}/{total}",
    "progress_encoding": "Задание #{job}: {bar} {done}/{total}, кодирую видео…",
    "video_too_large": (
        "Видео #{id} даже после сжатия не помещается в {limit:.1f} МБ, которые принимает "
        "этот чат; оно сохранено в /history, а /show {id} покажет его рецепт."
    ),
    "done": "Задание #{job} готово.",
    "caption": "{prompt}\nсид {seed} · Kandinsky {model} · {images}",
    "failed": "К сожалению, задание #{job} не выполнено: {reason} Квота возвращена.",
    "failed_internal": "что-то пошло не так на нашей стороне.",
    "failed_interrupted": "бот дважды перезапускался во время его выполнения.",
    "cancelled": "Задание #{job} отменено, квота возвращена.",
    "recovered_requeued": "Бот перезапустился; задание #{job} по-прежнему в очереди.",
    "recovered_retry": (
        "Бот перезапустился во время выполнения задания #{job}; оно будет запущено ещё раз."
    ),
    "undelivered_results": "Не удалось отправить вам результатов: {count}. Они есть в /history.",
    # refusals
    "quota_exhausted": "Лимит на сегодня исчерпан ({limit} в день); он обновится через {reset}.",
    "queue_full": (
        "Очередь сейчас заполнена (заданий: {size}). Попробуйте ещё раз через несколько минут."
    ),
    "user_queue_full": (
        "У вас уже ждут выполнения заданий: {count} (максимум — {limit}). "
        "Дождитесь, пожалуйста, пока одно из них завершится."
    ),
    "banned": "Вы не можете пользоваться этим ботом. Причина: {reason}",
    "paused": "Бот сейчас не принимает новые задания: {message}",
    "bad_input": "{error}",
    "need_picture": (
        "Чтобы использовать /{command}, прикрепите картинку или ответьте на сообщение с ней."
    ),
    "need_mask": (
        "Прикрепите маску (белое — перерисовать) второй картинкой "
        "или отправьте прозрачный PNG файлом."
    ),
    "unknown_command": "Я не знаю команды /{command}. Попробуйте /help.",
    "unknown_command_suggest": (
        "Я не знаю команды /{command}. Возможно, вы имели в виду /{suggestion}?"
    ),
    "error": "Что-то пошло не так на нашей стороне; попробуйте ещё раз чуть позже.",
    "not_found_image": "Изображение #{id} не найдено.",
    "not_found_job": "Задание #{id} не найдено.",
    "need_id": "Укажите номер, например: /{command} 12.",
    "init_picture_missing": "В этом сообщении нет картинки PNG, JPEG или WebP, с которой начать.",
    "upload_too_large": (
        "Изображение #{id} слишком большое, чтобы загрузить его сюда (максимум — "
        "{limit:.1f} МБ); его параметры — в /show {id}."
    ),
    # durations (queue estimates, quota resets)
    "duration_seconds": "{n} с",
    "duration_minutes": "{n} мин",
    "duration_hours": "{n} ч",
    # user commands
    "history_header": "Ваши изображения, страница {page} из {pages}:",
    "history_line": "#{id} · {prompt} · сид {seed} · Kandinsky {model}",
    "history_empty": "У вас пока нет изображений. Попробуйте /imagine маяк в сумерках",
    "history_no_page": (
        "Страницы {page} нет. Последняя страница ваших изображений — {pages}: /history {pages}"
    ),
    "recipe": (
        "Изображение #{id}: {task}, Kandinsky {model}, {width}x{height}, сид {seed}, "
        "шаги: {steps}, guidance {guidance}, планировщик {scheduler}.\n"
        "Запрос: {prompt}\nНегативный запрос: {negative}\nПовторить: {again}"
    ),
    "quota_status": (
        "Сегодня использовано изображений: {used} из {limit}, дополнительных кредитов: "
        "{extra}; осталось: {remaining}. Лимит обновится через {reset}."
    ),
    "queue_status_line": "Задание #{job}: место {position}, примерно {eta}.",
    "queue_status_running": "Задание #{job}: рисую прямо сейчас.",
    "queue_empty": "В очереди нет ваших заданий.",
    "cancel_none": "У вас нет ожидающих заданий, которые можно отменить.",
    "cancel_running": (
        "Задание #{job} выполняется: оно остановится на следующем шаге, квота вернётся."
    ),
    "cancel_too_late": "Задание #{job} уже завершено.",
    "settings_show": (
        "Ваши настройки по умолчанию: модель {model}, размер {size}, шаги: {steps}, "
        "негативный запрос: {negative}, язык: {language}.\nИзменить их: "
        '/settings --model 3 --size 768x512 --steps 30 --neg "blurry" или /settings reset.'
    ),
    "settings_saved": "Сохранено.",
    "language_set": "Теперь я буду говорить с вами по-русски.",
    "language_unknown": "Я говорю на en (английском), ru (русском) и ar (арабском).",
    "edit_need_picture": (
        "Какую картинку изменить командой /edit? Отправьте фото с подписью /edit сделай ночь, "
        "ответьте на картинку (или на мой результат) командой /edit сделай ночь или укажите "
        "номер своего изображения: /edit #12 сделай ночь. В Discord: параметр image у /edit "
        "или «Приложения → Edit this image» в меню сообщения."
    ),
    "edit_need_instruction": "Напишите после /edit, что изменить, например: /edit сделай ночь",
    "edit_ask": (
        "{mark} Что изменить на этой картинке? Напишите ответом на это сообщение, например: "
        "сделай ночь"
    ),
    "edit_modal_title": "Что изменить?",
    "edit_modal_label": "Инструкция",
    "edit_modal_example": "сделай ночь, остальное не меняй",
    "init_set": (
        "Изображение #{id} станет исходной картинкой для вашей следующей команды "
        "/img2img, /inpaint или /depth."
    ),
    "link_code": "Ваш код связки: {code}. В течение {minutes} мин. отправьте /link {code} со "
    "своего аккаунта на другой платформе, чтобы объединить их: одна квота, одна история, одни "
    "настройки.",
    "link_done": "Готово. Оба аккаунта теперь один (пользователь #{user}): общая квота и история.",
    "link_bad": "Этот код связки неверен или истёк. Отправьте /link со второго аккаунта, чтобы "
    "получить новый.",
    "init_set_picture": "Эта картинка станет исходной для вашей следующей команды /img2img, "
    "/inpaint или /depth.",
    "none": "нет",
    "default": "по умолчанию",
    # content filter
    "prompt_refused": "Извините, этот запрос здесь не нарисовать: бот такого не делает. "
    "Квота не списана.",
    "flagged_note": "⚠️ Проверка безопасности отметила {images}: нажмите, чтобы открыть.",
    "flagged_held": "Задание #{job}: проверка безопасности задержала {images}, сюда оно не "
    "отправлено. Оно осталось в /history, администратор может его выпустить.",
    "flagged_cleared": "Администратор проверил {images} и выпустил его.",
    "history_flagged": " · ⚠️",
    "report_done": "Спасибо: о картинке #{id} сообщено администраторам.",
    "admin_filter_added": "Фильтр запросов теперь содержит это слово.",
    "admin_filter_exists": "Это слово уже есть в фильтре запросов.",
    "admin_filter_removed": "Это слово убрано из фильтра.",
    "admin_filter_missing": "Этого слова нет в фильтре запросов.",
    "admin_filter_list": "Слова фильтра: {words}. Встроенный список: {defaults}.",
    "admin_filter_defaults": "Встроенный список: {state}.",
    "admin_on": "включён",
    "admin_off": "выключен",
    "admin_policy": "Отмеченные картинки здесь: {policy}.",
    "admin_policy_allow_refused": "Показывать отмеченные картинки открыто можно только в "
    "канале Discord с возрастным ограничением.",
    "admin_flagged_line": "{flag} · {at} · {kind} · пользователь #{user} · {place}{what} · "
    "{status}",
    "admin_flagged_empty": "Ничего не отмечено.",
    "admin_flag_missing": "Открытой записи {flag} нет.",
    "admin_flag_cleared": "Запись {flag} снята; картинка уходит владельцу.",
    "admin_flag_banned": "Запись {flag}: пользователь #{user} заблокирован.",
    # admin
    "not_admin": "Это доступно только администраторам.",
    "admin_usage": (
        "Команды администратора: ban ПОЛЬЗОВАТЕЛЬ [причина], unban ПОЛЬЗОВАТЕЛЬ, "
        "quota set|grant|reset ПОЛЬЗОВАТЕЛЬ [N], stats, queue, cancel ЗАДАНИЕ, "
        "pause [сообщение], resume, models, preload МОДЕЛЬ, unload [МОДЕЛЬ], audit [N], "
        "filter add|remove СЛОВА, filter list, filter defaults on|off, "
        "policy [allow|spoiler|block], flagged [N], flagged clear|ban ЗАПИСЬ. "
        "ПОЛЬЗОВАТЕЛЬ — это платформа:id или #номер."
    ),
    "admin_no_user": "Пользователь {user} не найден.",
    "admin_banned": "Пользователь #{user} заблокирован: {reason}",
    "admin_unbanned": "Пользователь #{user} разблокирован.",
    "admin_quota": (
        "Пользователь #{user}: сегодня использовано {used} из {limit}, "
        "дополнительных кредитов: {extra}."
    ),
    "admin_stats": (
        "Пользователей: {users}. Заданий: {jobs}. Изображений сегодня: {images}. "
        "Ожидание p50/p95: {wait}. Выполнение p50/p95: {run}."
    ),
    "admin_queue_line": "#{job} · {status} · пользователь #{user} · {prompt}",
    "admin_queue_empty": "Очередь пуста.",
    "admin_cancelled": "Задание #{job} отменено.",
    "admin_paused": "Приём заданий приостановлен: {message}",
    "admin_resumed": "Приём заданий возобновлён.",
    "admin_models": "Доступны: {available}.",
    "admin_models_worker": "{worker} ({device}), обслуживает {families}: {loaded}",
    "admin_models_none": "Ни один воркер не запущен.",
    "admin_nothing": "ничего",
    "admin_preloaded": "{worker}: модель Kandinsky {model} загружена; в памяти: {loaded}.",
    "admin_preload_failed": "{worker}: не удалось загрузить Kandinsky {model}: {error}",
    "admin_unloaded": "{worker}: выгружено пайплайнов: {count}; в памяти: {loaded}.",
    "admin_unload_failed": "{worker}: не удалось выгрузить: {error}",
    "admin_no_worker_for": "Ни один запущенный воркер не обслуживает Kandinsky {model}.",
    "admin_silent": "Пока нет ответа от: {workers} (ещё работают или остановлены).",
    "admin_audit_line": "{at} · {actor} · {what} · {allowed}",
    "admin_audit_empty": "Журнал аудита пуст.",
    "admin_allowed": "выполнено",
    "admin_refused": "отклонено",
    "pause_default": "технические работы",
    # help
    "help": (
        "Я рисую картинки с помощью Kandinsky. Команды:\n"
        "/imagine ЗАПРОС: нарисовать картинку\n"
        "/img2img (с картинкой) ЗАПРОС: перерисовать её\n"
        "/inpaint (картинка + маска) ЗАПРОС: перерисовать белую область\n"
        "/mix кот::0.3 | #1::0.7: смешать тексты и картинки\n"
        "/depth (с картинкой) ЗАПРОС: сохранить её форму\n"
        "/edit (с картинкой) ИНСТРУКЦИЯ: изменить её, как скажете (Kandinsky 5)\n"
        "/animate ЗАПРОС: короткое видео (с картинкой: оживить её)\n"
        "/history, /show ID, /reroll ID, /variations ID, /init ID, /settings, /quota, "
        "/queue, /cancel, /language, /link, /help КОМАНДА\n"
        "Параметры: --model {models} --size 768x512 --ar 16:9 --seed 42 --steps 30 --cfg 4 "
        '--prior-cfg 4 --strength 0.6 --neg "..." --scheduler ddim --n 2 --from 12 '
        "--seconds 5 --fps 24 --fast\n"
        "Изображение #12 создано заданием #12 (#12.1, #12.2, если их несколько); "
        "--from 12 начинает с него."
    ),
    "help_imagine": (
        "/imagine ЗАПРОС [параметры]: нарисовать картинку. "
        "Пример: /imagine маяк в сумерках --ar 16:9 --seed 42"
    ),
    "help_img2img": (
        "/img2img ЗАПРОС [--strength 0.6]: отправьте вместе с картинкой (или ответом на неё, "
        "или укажите одно из ваших изображений: --from 12). "
        "Пример: /img2img акварельная картина --strength 0.5"
    ),
    "help_inpaint": (
        "/inpaint ЗАПРОС: отправьте картинку и маску (белое — перерисовать) "
        "или прозрачный PNG файлом; --from 12,14.in указывает сохранённые (картинка, затем "
        "маска). Пример: /inpaint красная дверь"
    ),
    "help_mix": (
        "/mix ЭЛЕМЕНТ | ЭЛЕМЕНТ: смешать тексты и прикреплённые картинки (#1, #2) "
        "с весами. Пример: /mix кот::0.3 | #1::0.7"
    ),
    "help_depth": (
        "/depth ЗАПРОС [--init]: сохранить форму прикреплённой картинки (ControlNet depth, "
        "Kandinsky 2.2); с --init она же станет исходной картинкой. "
        "Пример: /depth каменная башня"
    ),
    "help_edit": (
        "/edit ИНСТРУКЦИЯ: изменить картинку, как скажете (Kandinsky 5). Отправьте команду с "
        "фото, ответом на картинку или на мой результат либо укажите номер своего изображения: "
        "/edit #12 сделай ночь. Кнопка ✏️ под результатом спросит, что изменить. "
        "Пример: /edit сделай ночь"
    ),
    "help_reroll": "/reroll ID: те же параметры с новым сидом. Пример: /reroll 12",
    "help_animate": (
        "/animate ЗАПРОС [--seconds 5|10] [--fps 24] [--fast]: короткое видео "
        "(Kandinsky 5 Video); отправьте команду с картинкой (ответом на неё или с --from 12), "
        "чтобы оживить её. Видео стоит дороже картинки. Пример: /animate бумажный кораблик "
        "на реке"
    ),
    "help_variations": "/variations ID: вариации одного из ваших изображений. "
    "Пример: /variations 12",
    "help_init": (
        "/init ID: использовать изображение как исходную картинку для следующей команды."
    ),
    "help_history": (
        "/history [СТРАНИЦА]: ваши изображения и их номера (#12 или #12.2 — второе из "
        "нескольких, созданных заданием #12)."
    ),
    "help_show": (
        "/show ID: параметры, с которыми создано изображение, и команда, которая повторит его "
        "(12.in — картинка, которую вы отправили с заданием #12). Пример: /show 12"
    ),
    "help_settings": (
        '/settings [--model 3] [--size 768x512] [--steps 30] [--neg "..."] '
        "или /settings reset: ваши настройки по умолчанию."
    ),
    "help_quota": "/quota: сколько изображений у вас осталось на сегодня.",
    "help_queue": "/queue: где ваши задания в очереди.",
    "help_cancel": "/cancel [ЗАДАНИЕ]: отменить ваше ожидающее задание.",
    "help_language": "/language en|ru|ar: язык, на котором я с вами говорю.",
    "help_admin": "/admin ...: команды для администраторов.",
    "help_help": "/help [КОМАНДА]: что я умею.",
    "help_link": "/link, затем /link КОД на другой платформе: общая квота и история.",
    "console_ready": "Бот Kandinsky {version} готов: введите команду.",
    "console_defaults": (
        "Запрос рисуется на {model}, {size}, шагов: {steps}, если не указано иное "
        "(--size 768x512 --steps 30 или /settings)."
    ),
    "console_defaults_cpu": (
        "Видеокарты нет, поэтому запрос рисуется на {model}, {size}, шагов: {steps} — "
        "картинка за секунды. Это меняют параметры (--size 768x512 --steps 30) или /settings."
    ),
    "console_places": (
        "Картинки сохраняются в {pictures}; база данных и её копии картинок — в {data}."
    ),
    "console_help": (
        "В терминале: строка из двух и более слов без команды — это запрос для /imagine; "
        "имя файла прикрепляет эту картинку (в кавычках, если в нём есть пробелы: "
        '"my photo.png"); число нажимает кнопку последнего результата. /quit или Ctrl-D — '
        "выход, когда задания готовы; Ctrl-C — остановка сразу, с отменой заданий."
    ),
    "console_one_word": (
        "«{word}» — не команда, а одного слова мало для запроса. Введите /help, чтобы увидеть "
        "команды, или /imagine {word}, чтобы это нарисовать."
    ),
    "console_needs_slash": "Команды начинаются с косой черты: /{command}. Все команды — /help.",
    "console_no_file": (
        'Файла {name} нет. Проверьте имя; имя с пробелами пишите в кавычках: "my photo.png".'
    ),
    "console_cannot_read": "Не удаётся прочитать файл {name}: {reason}.",
    "console_stopping": (
        "Останавливаюсь: ваши задания отменены. Нажмите Ctrl-C ещё раз, чтобы выйти сразу."
    ),
}

RU_ERRORS: dict[str, str] = {
    # the request model
    "k3_no_inpainting": (
        "Kandinsky 3 не умеет перерисовывать часть картинки (inpainting); попробуйте модель 2.2"
    ),
    "k3_no_mix": "У Kandinsky 3 нет prior, поэтому он не умеет смешивать; попробуйте модель 2.2",
    "depth_only_k22": "Depth ControlNet есть только для Kandinsky 2.2; попробуйте модель 2.2",
    "k5_use_edit": (
        "Kandinsky 5 меняет картинку по инструкции, а не по strength: используйте /edit "
        "(задача edit) и напишите, что изменить"
    ),
    "k5_no_inpainting": (
        "У Kandinsky 5 нет перерисовки по маске (inpainting); напишите, что изменить, через "
        "/edit, или попробуйте модель 2.2 с маской"
    ),
    "k5_no_mix": "У Kandinsky 5 нет prior, поэтому он не умеет смешивать; попробуйте модель 2.2",
    "animate_only_5v": (
        "Kandinsky {model} рисует картинки, а не видео; /animate работает с моделью {able}"
    ),
    "video_only": (
        "Kandinsky {model} делает только видео: используйте /animate, а для картинок модель 5"
    ),
    "video_image_length": (
        "Kandinsky {model} оживляет картинку только на 5 секунд; уберите --seconds {seconds}"
    ),
    "video_image_no_fast": (
        "У Kandinsky {model} нет быстрой версии для оживления картинки; уберите --fast"
    ),
    "video_image_frames": (
        "Чтобы оживить картинку, нужно не меньше {low} кадров, а с этими настройками "
        "их {frames}; увеличьте --fps"
    ),
    "video_not_picture": (
        "#{id} — это видео, а /{command} начинает с картинки: приложите её или назовите "
        "одну из ваших картинок"
    ),
    "edit_elsewhere": (
        "Kandinsky {model} не умеет редактировать по инструкции; попробуйте модель {able}"
    ),
    "edit_no_strength": (
        "У edit нет параметра strength: что изменить, говорит инструкция; уберите --strength"
    ),
    "scheduler_for_model": (
        "Kandinsky {model} работает только с планировщиком {choices}; получено: {value}"
    ),
    "size_not_listed": (
        "Kandinsky {model} делает только такие размеры: {sizes}; получено: --size {value} "
        "(--ar выберет ближайший)"
    ),
    "mix_item_kind": "Каждый элемент смешивания — либо текст, либо изображение",
    "one_of": "Параметр {name} должен быть одним из: {choices}; получено: {value}",
    "not_text": "Параметр {name} должен быть текстом",
    "too_long": "Параметр {name} слишком длинный: символов — {length}, максимум — {limit}",
    "no_nul": "Параметр {name} не должен содержать символы NUL",
    "prompt_empty": "Запрос не может быть пустым",
    "whole_number": "Параметр {name} должен быть целым числом; получено: {value}",
    "not_a_number": "Параметр {name} должен быть числом; получено: {value}",
    "between": "Параметр {name} должен быть от {low} до {high}; получено: {value}",
    "size_sides_multiple": "--size {size}: обе стороны должны быть кратны {multiple}, "
    "а {value} — нет",
    "size_sides_between": "--size {size}: обе стороны должны быть от {low} до {high} пикселей, "
    "а {value} — нет",
    "size_pixels": "--size {width}x{height} превышает предел (максимум пикселей: {limit})",
    "size_format": "Параметр {name} должен выглядеть как 768x512; получено: {value}",
    "size_positive": "У изображения должен быть положительный размер",
    "no_denoising_step": (
        "При strength {strength} и числе шагов {steps} не выполняется ни одного шага "
        "расшумления; увеличьте strength или число шагов"
    ),
    "needs_picture": "Для {task} нужна исходная картинка",
    "inpaint_needs_mask": "Для inpaint нужна маска (белое — перерисовать) или прозрачный PNG",
    "depth_needs_input": "Для depth нужна картинка или карта глубины",
    "depth_img2img_needs_picture": "Для depth в режиме «картинка в картинку» нужна картинка",
    "mix_only": "Элементы смешивания используются только в mix, а не в {task}",
    "mix_too_few": "Для смешивания нужно хотя бы 2 элемента; получено: {count}",
    "mix_too_many": "Слишком много элементов для смешивания: {count}; максимум — {limit}",
    "mix_text_too_long": "Текст в смешивании длиннее допустимой длины запроса",
    "mix_weights_zero": "Веса смешивания не могут все быть нулевыми",
    "batch_range": (
        "--batch должен указывать одну из не более чем {limit} картинок, созданных вместе, "
        "например 2/4; получено: {value}"
    ),
    "batch_one_image": "--batch повторяет одну картинку; уберите --n",
    # the option grammar
    "unknown_option": "Неизвестный параметр {option}; доступные параметры: {options}",
    "unknown_option_suggest": (
        "Неизвестный параметр {option}; возможно, вы имели в виду --{suggestion}?"
    ),
    "option_repeated": "Параметр --{option} указан больше одного раза; укажите его один раз",
    "size_with_aspect": "--size и --ar нельзя использовать вместе; укажите что-то одно",
    "needs_value": "Для {name} нужно значение, например: --{option} {example}",
    "unclosed_quote": (
        "Кавычка {quote} после {name} не закрыта (в {excerpt}); "
        "поставьте закрывающую {closer} там, где значение заканчивается"
    ),
    "takes_no_value": "Параметр {name} не принимает значения; получено: {value}",
    "not_finite": "Параметр {name} должен быть конечным числом; получено: {value}",
    "seed_range": "Параметр {name} должен быть от 0 до {high}; получено: {value}",
    "one_of_suggest": (
        "Параметр {name} должен быть одним из: {choices}; получено: {value}. "
        "Возможно, вы имели в виду {suggestion}?"
    ),
    "aspect_format": "Параметр {name} должен выглядеть как 16:9; получено: {value}",
    "aspect_positive": (
        "Для {name} нужны два положительных числа, например 16:9; получено: {value}"
    ),
    "aspect_range": "Параметр {name} должен быть от 1:{limit} до {limit}:1; получено: {value}",
    "mix_spec_kind": "Каждый элемент смешивания — либо текст, либо картинка",
    "mix_item_empty": (
        "Элемент смешивания {number} пуст; записывайте элементы так: кот::0.3 | собака::0.7"
    ),
    "mix_picture_number": (
        "Картинки нумеруются с #1, поэтому элемент смешивания {number} не может быть {value}"
    ),
    "weight_not_a_number": (
        "Вес элемента смешивания {number} должен быть числом; получено: {value}"
    ),
    "weight_not_finite": (
        "Вес элемента смешивания {number} должен быть конечным числом; получено: {value}"
    ),
    "weight_negative": (
        "Вес элемента смешивания {number} должен быть не меньше 0; получено: {weight:g}"
    ),
    "picture_label": (
        "Параметр {name} принимает номера ваших изображений, например 12 или 12.2 "
        "(несколько — через запятую); получено: {value}"
    ),
    "batch_format": (
        "Параметр {name} должен выглядеть как 2/4 (вторая из 4 картинок, созданных вместе); "
        "получено: {value}"
    ),
    # the commands
    "no_picture_number": "Картинки #{number} нет",
    # pictures users send
    "picture_empty": "Файл картинки пуст",
    "picture_too_heavy": "Картинка весит {size:.1f} МБ; максимум — {limit:.0f} МБ",
    "picture_not_picture": "Картинка не в формате PNG, JPEG или WebP",
    "picture_too_many_pixels": (
        "Картинка слишком большая ({width}x{height} пикс.); максимум — {limit:.0f} Мп"
    ),
    "picture_too_large": (
        "Картинка слишком большая (слишком много пикселей); максимум — {limit:.0f} Мп"
    ),
    "picture_damaged": "Картинка повреждена или обрезана; отправьте её ещё раз",
    "mask_empty": "Файл маски пуст",
    "mask_too_heavy": "Маска весит {size:.1f} МБ; максимум — {limit:.0f} МБ",
    "mask_not_picture": "Маска не в формате PNG, JPEG или WebP",
    "mask_too_many_pixels": (
        "Маска слишком большая ({width}x{height} пикс.); максимум — {limit:.0f} Мп"
    ),
    "mask_too_large": "Маска слишком большая (слишком много пикселей); максимум — {limit:.0f} Мп",
    "mask_damaged": "Маска повреждена или обрезана; отправьте её ещё раз",
    "depth_map_empty": "Файл карты глубины пуст",
    "depth_map_too_heavy": "Карта глубины весит {size:.1f} МБ; максимум — {limit:.0f} МБ",
    "depth_map_not_picture": "Карта глубины не в формате PNG, JPEG или WebP",
    "depth_map_too_many_pixels": (
        "Карта глубины слишком большая ({width}x{height} пикс.); максимум — {limit:.0f} Мп"
    ),
    "depth_map_too_large": (
        "Карта глубины слишком большая (слишком много пикселей); максимум — {limit:.0f} Мп"
    ),
    "depth_map_damaged": "Карта глубины повреждена или обрезана; отправьте её ещё раз",
    # recipes read back from our PNGs
    "file_not_png": "Этот файл — не картинка PNG",
    "no_recipe": "В этом PNG нет параметров генерации от Kandinsky-бота",
    "recipe_damaged": "Параметры генерации в этом PNG повреждены",
    # the command line
    "cannot_read": "Не удалось прочитать {what} {path}: {reason}",
    "recipe_needs_image": "Для этих параметров нужна исходная картинка: укажите --image",
    # downloads by the chat adapters
    "download_failed": "Не удалось скачать {name}; прикрепите файл ещё раз",
    "file_wrong_type": "Файл {name} имеет тип {kind}, а не PNG, JPEG или WebP",
    "file_unknown_type": "Тип файла {name} неизвестен; нужна картинка PNG, JPEG или WebP",
    "file_too_big_for_bots": "Файл {name} слишком большой: боты не могут его скачать",
    "file_over_download_limit": (
        "Файл {name} весит {size:.1f} МБ; я могу скачивать файлы до {limit:.0f} МБ"
    ),
    # checkpoints the engine cannot load
    "model_missing": (
        "Kandinsky {family} здесь не скачан (чекпойнт {checkpoint}), а хаб моделей недоступен: "
        "выполните `kandinsky-bot download-models --models {family}` там, где хаб доступен, "
        "или попробуйте крошечные офлайн-модели с --tiny (`kandinsky-bot make-tiny-models`)"
    ),
    "depth_model_missing": (
        "Оценщик глубины {checkpoint} здесь не скачан, а хаб моделей недоступен: выполните "
        "`kandinsky-bot download-models --depth` там, где хаб доступен, пришлите готовую карту "
        "глубины или попробуйте крошечные офлайн-модели с --tiny"
    ),
    "safety_model_missing": (
        "Классификатор безопасности {checkpoint} здесь не скачан, а хаб моделей недоступен: "
        "выполните `kandinsky-bot download-models` там, где хаб доступен, или задайте "
        "KBOT_SAFETY=prompts, чтобы отправлять результаты без проверки"
    ),
}
"""Russian error sentences, by `generation.messages.ERRORS` id."""
