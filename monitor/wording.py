"""What the pages and reports call statuses, timeline events and milestones, in Chinese."""

STATUS = {"open": "待处置", "confirmed": "已确认", "responding": "回应中", "dismissed": "已排除",
          "closed": "已关闭", "merged": "已合并"}
EVENTS = {"opened": "发现事件", "item_added": "新增信息", "level_proposed": "建议定级",
          "confirmed": "确认定级", "dismissed": "排除", "resurfaced": "再次升温",
          "acknowledged": "确认收到", "milestone_recorded": "记录处置节点",
          "occurred_set": "录入事发时间", "closed": "关闭", "merged": "合并", "absorbed": "并入",
          "split": "拆分", "deadline_set": "设定时限", "deadline_cancelled": "取消时限",
          "reminder": "时限提醒", "notified": "通知值班", "escalated": "升级提醒",
          "deadline_met": "完成时限", "deadline_missed": "超时", "no_recipient": "无人可通知",
          "clocks_stopped": "停止计时", "delivery_failed": "发送失败", "silenced": "静默",
          "silence_set": "设置静默", "note": "备注", "evaluated": "效果评估",
          "finding_decided": "问责意见"}
MILESTONES = {"authoritative_release": "权威信息发布", "press_conference": "新闻发布会",
              "follow_up": "后续发布", "internal_report": "书面上报"}
LEVELS = {"I": "Ⅰ级（特别重大）", "II": "Ⅱ级（重大）", "III": "Ⅲ级（较大）", "IV": "Ⅳ级（一般）"}
BY_HAND = "人工立案"  # an "opened" event a person entered (by_hand), not detection's 发现事件
OPENED_ON = {"confirm": "确认定级", "ack": "确认收到"}  # the action that opened it from a post
